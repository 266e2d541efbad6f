package watch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
)

// symlink makes a link or skips where links cannot be made (Wine 8 says yes and
// makes nothing; internal/originals covers that case with committed links).
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skip("cannot make symbolic links here:", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Skip("symbolic links do not work here:", err)
	}
}

// canSymlink skips the test where links cannot be made, before any goroutine needs
// one.
func canSymlink(t *testing.T) {
	t.Helper()
	d := t.TempDir()
	symlink(t, d, filepath.Join(d, "probe"))
}

// problem returns the folder's health once it names an item that cannot be taken.
func (e *stepEnv) problem(t *testing.T, want ...string) health.Check {
	t.Helper()
	h := e.w.Health()[0]
	if h.State != health.Degraded || h.Fix == "" {
		t.Fatalf("health does not report the problem: %+v", h)
	}
	for _, w := range want {
		if !strings.Contains(h.Detail, w) {
			t.Fatalf("health detail %q does not contain %q", h.Detail, w)
		}
	}
	if strings.Contains(h.Detail, "ZZZ0016") {
		t.Fatalf("health names the patient: %q", h.Detail)
	}
	return h
}

func (e *stepEnv) noSecret(t *testing.T) {
	t.Helper()
	for _, c := range e.rec.read() {
		if strings.Contains(c, "root only") {
			t.Fatal("a file from outside the watched folder was handed over")
		}
	}
}

// The attack as it was run: a file is replaced by a link to a root-only file
// outside the folder within the stability window.
func TestSymlinkSwapWithinWindow(t *testing.T) {
	e := newStep(t)
	secret := filepath.Join(t.TempDir(), "secret.jpg")
	write(t, secret, "root only")
	p := filepath.Join(e.root, "ZZZ0016 x.jpg")
	write(t, p, "a photo")
	e.pass(0)
	e.pass(500 * time.Millisecond)
	os.Remove(p)
	symlink(t, secret, p)
	write(t, filepath.Join(e.root, "ZZZ0024 y.jpg"), "another photo")
	for range 4 {
		e.pass(time.Second)
	}
	e.noSecret(t)
	if got := e.rec.rels(); !equal(got, []string{"ZZZ0024 y.jpg"}) {
		t.Fatalf("handed over %v", got)
	}
	e.problem(t, "symbolic link", "x.jpg")
}

// The same swap at the worst moment: after the last look, before the open.
func TestSymlinkSwapBetweenLookAndOpen(t *testing.T) {
	e := newStep(t)
	secret := filepath.Join(t.TempDir(), "secret.jpg")
	write(t, secret, "root only")
	p := filepath.Join(e.root, "ZZZ0016 x.jpg")
	write(t, p, "a photo")
	canSymlink(t)
	var once sync.Once
	e.w.beforeOpen = func(string) {
		once.Do(func() { os.Remove(p); os.Symlink(secret, p) })
	}
	e.pass(0)
	for range 4 {
		e.pass(time.Second)
	}
	e.noSecret(t)
	if n := len(e.rec.rels()); n != 0 {
		t.Fatalf("handed over %d files", n)
	}
	e.problem(t, "symbolic link")
}

// Another regular file renamed into the name at the worst moment is not the file
// that was observed stable: it waits a window of its own.
func TestFileSwapBetweenLookAndOpen(t *testing.T) {
	e := newStep(t)
	p := filepath.Join(e.root, "a.jpg")
	write(t, p, "first")
	other := filepath.Join(e.root, "Sent", "b.jpg") // Sent is not watched
	write(t, other, "second")
	var once sync.Once
	e.w.beforeOpen = func(string) { once.Do(func() { os.Rename(other, p) }) }
	e.pass(0)
	e.pass(time.Second)
	if n := len(e.rec.rels()); n != 0 {
		t.Fatal("a file other than the one observed was handed over")
	}
	e.pass(time.Second)
	e.pass(time.Second)
	if got := e.rec.read(); len(got) != 1 || got[0] != "second" {
		t.Fatalf("after its own window: %v", got)
	}
}

// A patient sub-folder swapped for a link to an outside folder within the window:
// nothing from the outside folder is handed over.
func TestFolderSwapWithinWindow(t *testing.T) {
	e := newStep(t)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "x.jpg"), "root only")
	sub := filepath.Join(e.root, "ZZZ0016")
	write(t, filepath.Join(sub, "x.jpg"), "a photo")
	e.pass(0)
	e.pass(500 * time.Millisecond)
	os.Rename(sub, filepath.Join(e.root, "Sent"))
	symlink(t, outside, sub)
	for range 4 {
		e.pass(time.Second)
	}
	e.noSecret(t)
	if n := len(e.rec.rels()); n != 0 {
		t.Fatalf("handed over %d files", n)
	}
	e.problem(t, "symbolic link", `"[redacted]"`)
}

// The same folder swap after the last look, before the open.
func TestFolderSwapBetweenLookAndOpen(t *testing.T) {
	e := newStep(t)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "x.jpg"), "a photo") // same size and name
	sub := filepath.Join(e.root, "ZZZ0016")
	write(t, filepath.Join(sub, "x.jpg"), "a photo")
	canSymlink(t)
	var once sync.Once
	e.w.beforeOpen = func(string) {
		once.Do(func() { os.Rename(sub, filepath.Join(e.root, "Sent")); os.Symlink(outside, sub) })
	}
	e.pass(0)
	for range 4 {
		e.pass(time.Second)
	}
	if n := len(e.rec.rels()); n != 0 {
		t.Fatalf("handed over %d files through a swapped folder", n)
	}
	e.problem(t, "link")
}

func TestHardLinkRefusedAndNamed(t *testing.T) {
	e := newStep(t)
	secret := filepath.Join(t.TempDir(), "secret.jpg")
	write(t, secret, "root only")
	if err := os.Link(secret, filepath.Join(e.root, "ZZZ0016 h.jpg")); err != nil {
		t.Skip("no hard links here:", err)
	}
	e.pass(0)
	e.pass(time.Second)
	e.noSecret(t)
	e.problem(t, "hard links")
}

func TestWatchedFolderThatIsALink(t *testing.T) {
	real := t.TempDir()
	write(t, filepath.Join(real, "a.jpg"), "x")
	link := filepath.Join(t.TempDir(), "Scans")
	symlink(t, real, link)
	rec := &recorder{}
	w := New(Options{Folders: []config.Folder{{Path: link, Label: "Scans"}}, StabilityWindow: time.Millisecond, Handle: rec.handle})
	w.scan(nil)
	time.Sleep(5 * time.Millisecond)
	w.checkPending(context.Background())
	w.running.Wait()
	h := w.Health()[0]
	if h.State != health.Degraded || !strings.Contains(h.Detail, "link") || len(rec.rels()) != 0 {
		t.Fatalf("health %+v, taken %v", h, rec.rels())
	}
}

// A file whose taking never finishes (a read from a share that stopped answering)
// is reported by name and does not stop the other files being taken, even with one
// worker.
func TestStuckFileDoesNotStopOthers(t *testing.T) {
	root := t.TempDir()
	release := make(chan struct{})
	defer close(release)
	var mu sync.Mutex
	var taken []string
	handle := func(ctx context.Context, f File) error {
		if strings.Contains(f.Rel, "stuck") {
			<-release
			return nil
		}
		mu.Lock()
		taken = append(taken, f.Rel)
		mu.Unlock()
		return nil
	}
	w := New(Options{Folders: []config.Folder{{Path: root, Label: "Share"}}, StabilityWindow: 50 * time.Millisecond,
		ScanInterval: 100 * time.Millisecond, Handle: handle, Workers: 1, StuckAfter: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	write(t, filepath.Join(root, "ZZZ0016 stuck.jpg"), "x")
	waitFor(t, "the stuck file reported", func() bool {
		d := w.Health()[0].Detail
		return strings.Contains(d, "stuck.jpg") && strings.Contains(d, "stopped answering")
	})
	for _, n := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		write(t, filepath.Join(root, n), n)
	}
	waitFor(t, "the other files taken", func() bool { mu.Lock(); defer mu.Unlock(); return len(taken) == 3 })
	cancel()
	<-done
}
