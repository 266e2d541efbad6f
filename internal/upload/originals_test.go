package upload

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/queue"
)

// at runs f once when the uploader reaches step: between "Medtech holds it" and
// "tidy the original", where a swap does the most harm.
func at(step string, f func()) func(string) error {
	var once sync.Once
	return func(s string) error {
		if s == step {
			once.Do(f)
		}
		return nil
	}
}

// The patient folder of a sent file is swapped for a link to an outside folder
// holding a file of the same name and content before the original is tidied: with
// "delete" the outside file would be deleted as SYSTEM, with "move" a Sent folder
// made outside. Neither happens; the item is still sent.
func TestSourceActionNeverFollowsASwappedFolder(t *testing.T) {
	for _, action := range []config.SourceAction{config.ActionDelete, config.ActionMove} {
		t.Run(string(action), func(t *testing.T) {
			e := newEnv(t)
			outside := t.TempDir()
			os.WriteFile(filepath.Join(outside, "x.jpg"), []byte("same content"), 0o644)
			it := e.add(e.file(filepath.Join("ZZZ0016", "x.jpg"), "same content"), action, zzz)
			opt := e.options()
			linked := false
			opt.crash = at("verified", func() {
				sub := filepath.Join(e.in, "ZZZ0016")
				os.Rename(sub, sub+" moved")
				if os.Symlink(outside, sub) == nil {
					_, err := os.Lstat(sub)
					linked = err == nil // Wine 8 says yes and makes nothing
				}
			})
			e.start(opt)
			e.waitState(it.ID, queue.StateSent)
			if !linked {
				t.Skip("cannot make symbolic links here")
			}
			if !exists(filepath.Join(outside, "x.jpg")) {
				t.Fatal("the outside file was deleted or moved")
			}
			if exists(filepath.Join(outside, "Sent")) {
				t.Fatal("a Sent folder was made outside the watched folder")
			}
		})
	}
}

// A newer version written under the same name after the upload is not the content
// that was sent: it is neither deleted nor moved to Sent, so it is taken next.
func TestChangedOriginalIsNotTidied(t *testing.T) {
	for _, action := range []config.SourceAction{config.ActionDelete, config.ActionMove} {
		t.Run(string(action), func(t *testing.T) {
			e := newEnv(t)
			p := e.file("ZZZ0016 scan.pdf", "page one")
			it := e.add(p, action, zzz)
			opt := e.options()
			opt.crash = at("verified", func() { os.WriteFile(p, []byte("page one and page two"), 0o644) })
			e.start(opt)
			e.waitState(it.ID, queue.StateSent)
			if b, err := os.ReadFile(p); err != nil || string(b) != "page one and page two" {
				t.Fatalf("the newer version was not left in place: %q %v", b, err)
			}
		})
	}
}

// An original that is in no watched folder (the folder was removed from the
// configuration) is left alone.
func TestOriginalOutsideEveryRootLeftAlone(t *testing.T) {
	e := newEnv(t)
	elsewhere := filepath.Join(t.TempDir(), "x.jpg")
	os.WriteFile(elsewhere, []byte("x"), 0o644)
	it := e.add(elsewhere, config.ActionDelete, zzz)
	e.start(e.options())
	e.waitState(it.ID, queue.StateSent)
	if !exists(elsewhere) {
		t.Fatal("a file outside every watched folder was deleted")
	}
}

// endConverter parks any file that does not end in "END", as the real converter
// parks a JPEG or PDF that is cut short.
type endConverter struct{ fakeConverter }

func (c *endConverter) Convert(ctx context.Context, req ConvertRequest) (Converted, error) {
	b, err := os.ReadFile(req.Path)
	if err != nil {
		return Converted{}, err
	}
	if !strings.HasSuffix(string(b), "END") {
		return Converted{}, errors.New("The JPEG file is cut short, probably still being copied or saved; wait for it to finish and try again.")
	}
	return c.fakeConverter.Convert(ctx, req)
}

// A slow writer paused longer than the stability window, so the file was taken
// twice while being written and both early copies parked as cut short; once the
// complete file is sent, those copies are cleared. A parked copy of another file,
// or one that is not a prefix of what was sent, stays for a person.
func TestSentFileClearsItsCutShortCopies(t *testing.T) {
	e := newEnv(t)
	p := e.file("ZZZ0016 scan.jpg", "part one")
	first := e.add(p, config.ActionMove, zzz)
	e.file("ZZZ0016 scan.jpg", "part one, part two")
	second := e.add(p, config.ActionMove, zzz)
	other := e.add(e.file("ZZZ0016 other.jpg", "part"), config.ActionMove, zzz)
	e.file("ZZZ0016 scan.jpg", "different start")
	notPrefix := e.add(p, config.ActionMove, zzz)
	opt := e.options()
	opt.Converter = &endConverter{}
	e.start(opt)
	for _, it := range []queue.Item{first, second, other, notPrefix} {
		e.waitState(it.ID, queue.StateParked)
	}
	e.file("ZZZ0016 scan.jpg", "part one, part two, END")
	done := e.add(p, config.ActionMove, zzz)
	e.waitState(done.ID, queue.StateSent)
	for _, it := range []queue.Item{first, second} {
		got := e.waitState(it.ID, queue.StateRejected)
		if got.Reason != ReasonSuperseded || exists(got.SpoolPath) {
			t.Fatalf("cut-short copy: %+v", got)
		}
	}
	for _, it := range []queue.Item{other, notPrefix} {
		if got, _ := e.q.Get(context.Background(), it.ID); got.State != queue.StateParked {
			t.Fatalf("%s was cleared: %+v", it.FileName, got)
		}
	}
}
