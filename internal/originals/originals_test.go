package originals

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// symlink makes a link, or skips where this OS will not let the test (Wine 8
// answers success and makes nothing; TestCommittedLinks covers it there).
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skip("cannot make symbolic links here:", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Skip("symbolic links do not work here:", err)
	}
}

func read(t *testing.T, f *File) string {
	t.Helper()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func refusedAs(t *testing.T, err, kind error) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) || !errors.Is(err, kind) {
		t.Fatalf("got %v (%T), want a refusal of kind %v", err, err, kind)
	}
	if len(r.Reason) < 30 || !strings.Contains(r.Reason, ":") {
		t.Fatalf("reason %q does not say what to do", r.Reason)
	}
}

func TestOpenReadsTheObservedFile(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "ZZZ0016", "knee.jpg")
	write(t, p, "pixels")
	seen, err := Lstat(p)
	if err != nil || !seen.Mode.IsRegular() || seen.ID == (ID{}) {
		t.Fatalf("lstat: %+v %v", seen, err)
	}
	f, err := NewRoot(root).Open(filepath.Join("ZZZ0016", "knee.jpg"), seen.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := read(t, f); got != "pixels" || f.Info().ID != seen.ID || f.Info().Size != 6 {
		t.Fatalf("read %q, info %+v", got, f.Info())
	}
}

// Another file renamed into the name after it was observed stable is not taken.
func TestOpenRefusesAnotherFileInItsPlace(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "a.jpg")
	write(t, p, "first")
	seen, _ := Lstat(p)
	write(t, filepath.Join(root, "other"), "second")
	if err := os.Rename(filepath.Join(root, "other"), p); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRoot(root).Open("a.jpg", seen.ID); !errors.Is(err, ErrChanged) {
		t.Fatalf("got %v, want ErrChanged", err)
	}
}

func TestOpenRefusesSymlinkToOutsideFile(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret.jpg")
	write(t, secret, "root only")
	symlink(t, secret, filepath.Join(root, "ZZZ0016 x.jpg"))
	_, err := NewRoot(root).Open("ZZZ0016 x.jpg", ID{})
	refusedAs(t, err, ErrLink)
	// A link inside the folder to a file inside it is refused just the same.
	write(t, filepath.Join(root, "real.jpg"), "x")
	symlink(t, "real.jpg", filepath.Join(root, "alias.jpg"))
	_, err = NewRoot(root).Open("alias.jpg", ID{})
	refusedAs(t, err, ErrLink)
}

// A patient sub-folder swapped for a link to an outside folder: nothing is read
// there, nothing is moved there and no Sent folder is made there.
func TestSubfolderLinkIsNeverFollowed(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(outside, "x.jpg"), "root only")
	symlink(t, outside, filepath.Join(root, "ZZZ0016"))
	r := NewRoot(root)
	rel := filepath.Join("ZZZ0016", "x.jpg")
	_, err := r.Open(rel, ID{})
	refusedAs(t, err, ErrLink)
	_, err = r.Move(rel, SentDir, nil)
	refusedAs(t, err, ErrLink)
	refusedAs(t, r.Remove(rel, nil), ErrLink)
	if _, err := os.Lstat(filepath.Join(outside, SentDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a Sent folder was made outside the watched folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "x.jpg")); err != nil {
		t.Fatalf("the outside file was touched: %v", err)
	}
}

// Sent itself replaced by a link: the original is not moved through it.
func TestSentLinkIsNeverFollowed(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(root, "a.jpg"), "x")
	symlink(t, outside, filepath.Join(root, SentDir))
	_, err := NewRoot(root).Move("a.jpg", SentDir, nil)
	if !errors.Is(err, ErrLink) {
		t.Fatalf("got %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatal("the original was moved through a link")
	}
}

func TestRootThatIsALinkIsRefused(t *testing.T) {
	real, parent := t.TempDir(), t.TempDir()
	write(t, filepath.Join(real, "a.jpg"), "x")
	link := filepath.Join(parent, "Scans")
	symlink(t, real, link)
	_, err := NewRoot(link).Open("a.jpg", ID{})
	refusedAs(t, err, ErrLink)
}

func TestHardLinkedFileRefused(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret.jpg")
	write(t, secret, "root only")
	if err := os.Link(secret, filepath.Join(root, "x.jpg")); err != nil {
		t.Skip("cannot make hard links here:", err)
	}
	_, err := NewRoot(root).Open("x.jpg", ID{})
	refusedAs(t, err, ErrHardLinked)
}

func TestOpenRefusesFolderAndEscapes(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "dir"), 0o755)
	_, err := NewRoot(root).Open("dir", ID{})
	if !errors.Is(err, ErrNotRegular) {
		t.Fatalf("folder: %v", err)
	}
	for _, rel := range []string{"../x", "a/../../x", "", "a//b"} {
		if _, err := NewRoot(root).Open(rel, ID{}); !errors.Is(err, ErrOutside) {
			t.Errorf("%q: %v", rel, err)
		}
	}
	if _, err := NewRoot(root).Open("missing.jpg", ID{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

func TestMoveKeepsEveryName(t *testing.T) {
	root := t.TempDir()
	r := NewRoot(root)
	for i := range 3 {
		write(t, filepath.Join(root, "ZZZ0016", "scan.pdf"), strings.Repeat("x", i+1))
		dst, err := r.Move(filepath.Join("ZZZ0016", "scan.pdf"), SentDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"scan.pdf", "scan (2).pdf", "scan (3).pdf"}[i]
		if dst != filepath.Join("ZZZ0016", SentDir, want) {
			t.Fatalf("moved to %q", dst)
		}
		if b, _ := os.ReadFile(filepath.Join(root, dst)); len(b) != i+1 {
			t.Fatalf("%s holds %q", dst, b)
		}
	}
	// Gone already (a person moved it): nothing to do, not an error.
	if dst, err := r.Move(filepath.Join("ZZZ0016", "scan.pdf"), SentDir, nil); dst != "" || err != nil {
		t.Fatalf("gone: %q %v", dst, err)
	}
}

func TestCheckDecidesBeforeMoveOrRemove(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "a.jpg")
	write(t, p, "new version")
	r := NewRoot(root)
	no := errors.New("not the content that was sent")
	var saw string
	check := func(f *File) error { saw = read(t, f); return no }
	if _, err := r.Move("a.jpg", SentDir, check); !errors.Is(err, no) {
		t.Fatalf("move: %v", err)
	}
	if err := r.Remove("a.jpg", check); !errors.Is(err, no) {
		t.Fatalf("remove: %v", err)
	}
	if _, err := os.Stat(p); err != nil || saw != "new version" {
		t.Fatalf("the file was not kept, or check saw %q: %v", saw, err)
	}
	if err := r.Remove("a.jpg", func(*File) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("not deleted")
	}
	if err := r.Remove("a.jpg", nil); err != nil {
		t.Fatalf("already gone: %v", err)
	}
}

func TestRelAndFind(t *testing.T) {
	sep := string(filepath.Separator)
	base := filepath.Join(t.TempDir(), "Scans")
	rs := Roots{NewRoot(base), NewRoot(filepath.Join(base, "Inner"))}
	cases := []struct {
		p, root, rel string
		ok           bool
	}{
		{filepath.Join(base, "a.jpg"), base, "a.jpg", true},
		{filepath.Join(base, "Inner", "b.jpg"), filepath.Join(base, "Inner"), "b.jpg", true},
		{base + "Other" + sep + "c.jpg", "", "", false},
		{base, "", "", false},
		{filepath.Join(base, "..", "x.jpg"), "", "", false},
	}
	for _, c := range cases {
		r, rel, ok := rs.Find(c.p)
		if ok != c.ok || (ok && (r.Path() != c.root || rel != c.rel)) {
			t.Errorf("%s: %s %q %v", c.p, r.Path(), rel, ok)
		}
	}
	if runtime.GOOS == "windows" {
		if _, ok := NewRoot(`C:\Scans`).Rel(`c:\scans\A.JPG`); !ok {
			t.Error("Windows paths differ only in case")
		}
	}
}

func TestSkipNames(t *testing.T) {
	for _, n := range []string{"~$letter.docx", "scan.tmp", "photo.jpg.part", ".hidden.jpg", "x.crdownload", "Thumbs.db", "desktop.ini"} {
		if !SkipFile(n) {
			t.Errorf("%s not skipped", n)
		}
	}
	for _, n := range []string{"Sent", "rejected", ".sync", "$RECYCLE.BIN"} {
		if !SkipDir(n) {
			t.Errorf("%s/ not skipped", n)
		}
	}
	if SkipFile("ZZZ0016 knee.jpg") || SkipDir("ZZZ0016") {
		t.Error("ordinary names skipped")
	}
	if !SkipRel(filepath.Join("ZZZ0016", "Sent", "a.jpg")) || SkipRel(filepath.Join("ZZZ0016", "a.jpg")) {
		t.Error("SkipRel")
	}
}

func TestDescribeEveryKind(t *testing.T) {
	for _, m := range []fs.FileMode{fs.ModeSymlink, fs.ModeIrregular, fs.ModeNamedPipe, fs.ModeSocket, fs.ModeDevice | fs.ModeCharDevice, fs.ModeDir} {
		err := Describe(m)
		var r *Refusal
		if !errors.As(err, &r) || len(r.Reason) < 15 {
			t.Errorf("%v: %v", m, err)
		}
	}
	if Describe(0) != nil {
		t.Error("a regular file refused")
	}
}

// The links committed under testdata/escape: a file link and a patient folder link,
// both to testdata/escape/outside. On Unix (and real Windows with links checked
// out) they are refused as links; under Wine, which shows host links as ordinary
// files and folders, the handle's resolved path is what gives them away.
func TestCommittedLinks(t *testing.T) {
	root := NewRoot(filepath.Join("testdata", "escape", "root"))
	if f, err := root.Open("plain.jpg", ID{}); err != nil {
		t.Fatalf("the plain file: %v", err)
	} else {
		f.Close()
	}
	for _, rel := range []string{"ZZZ0016 link.jpg", filepath.Join("ZZZ0016", "x.jpg")} {
		first := strings.Split(filepath.ToSlash(rel), "/")[0]
		if st, err := os.Lstat(filepath.Join(root.Path(), first)); err != nil || st.Mode()&fs.ModeSymlink == 0 && runtime.GOOS != "windows" {
			t.Fatalf("%s: the committed link is missing or not a link (%v): check out with symlinks", rel, err)
		}
		_, err := root.Open(rel, ID{})
		if !errors.Is(err, ErrLink) && !errors.Is(err, ErrOutside) {
			t.Errorf("open %s: %v", rel, err)
		}
		if _, err := root.Move(rel, SentDir, nil); !errors.Is(err, ErrLink) && !errors.Is(err, ErrOutside) {
			t.Errorf("move %s: %v", rel, err)
		}
		if err := root.Remove(rel, nil); !errors.Is(err, ErrLink) && !errors.Is(err, ErrOutside) {
			t.Errorf("remove %s: %v", rel, err)
		}
	}
	for _, p := range []string{"secret.jpg", filepath.Join("ZZZ0016", "x.jpg")} {
		if _, err := os.Stat(filepath.Join("testdata", "escape", "outside", p)); err != nil {
			t.Errorf("%s outside was moved or deleted: %v", p, err)
		}
	}
	if _, err := os.Lstat(filepath.Join("testdata", "escape", "outside", "ZZZ0016", SentDir)); err == nil {
		t.Error("a Sent folder was made outside the watched folder")
	}
}
