package originals

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// A link, junction or mount point is refused whatever else its attributes say (a
// junction is a directory with the reparse attribute); a OneDrive file or folder,
// kept on the device or online-only, is the file or folder itself.
func TestReparsePointsAreIrregular(t *testing.T) {
	const reparse, cloud = windows.FILE_ATTRIBUTE_REPARSE_POINT, 0x9000001A
	cases := []struct {
		attrs, tag, ft uint32
		want           fs.FileMode
	}{
		{windows.FILE_ATTRIBUTE_NORMAL, 0, windows.FILE_TYPE_DISK, 0},
		{windows.FILE_ATTRIBUTE_ARCHIVE, 0, windows.FILE_TYPE_DISK, 0},
		{windows.FILE_ATTRIBUTE_DIRECTORY, 0, windows.FILE_TYPE_DISK, fs.ModeDir},
		{windows.FILE_ATTRIBUTE_DIRECTORY | reparse, windows.IO_REPARSE_TAG_MOUNT_POINT, windows.FILE_TYPE_DISK, fs.ModeIrregular},
		{reparse, windows.IO_REPARSE_TAG_SYMLINK, windows.FILE_TYPE_DISK, fs.ModeIrregular},
		{reparse, 0x8000001B, windows.FILE_TYPE_DISK, fs.ModeIrregular}, // an app execution alias
		{reparse | windows.FILE_ATTRIBUTE_OFFLINE, 0x00001234, windows.FILE_TYPE_DISK, fs.ModeIrregular},
		{reparse, cloud, windows.FILE_TYPE_DISK, 0},
		{reparse | windows.FILE_ATTRIBUTE_RECALL_ON_DATA_ACCESS, cloud | 0x3000, windows.FILE_TYPE_DISK, 0},
		{windows.FILE_ATTRIBUTE_DIRECTORY | reparse, cloud, windows.FILE_TYPE_DISK, fs.ModeDir},
		{windows.FILE_ATTRIBUTE_NORMAL, 0, windows.FILE_TYPE_PIPE, fs.ModeNamedPipe},
		{windows.FILE_ATTRIBUTE_NORMAL, 0, windows.FILE_TYPE_CHAR, fs.ModeDevice | fs.ModeCharDevice},
		{windows.FILE_ATTRIBUTE_NORMAL, 0, windows.FILE_TYPE_UNKNOWN, fs.ModeIrregular},
	}
	for _, c := range cases {
		got := handleMode(c.attrs, c.tag, c.ft)
		if got != c.want {
			t.Errorf("attrs %#x tag %#x type %d: %v, want %v", c.attrs, c.tag, c.ft, got, c.want)
		}
		if c.attrs&reparse != 0 && !followable(c.tag) && !errors.Is(Describe(got), ErrLink) {
			t.Errorf("attrs %#x tag %#x: a reparse point was not refused as a link", c.attrs, c.tag)
		}
	}
}

// A OneDrive file is opened a second time, through its filter; if another file
// was put in its place between the two opens (a link, which the second open
// follows), the identities differ and the open fails with ErrChanged.
func TestSecondOpenMustBeTheSameFile(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a.jpg"), "the photo")
	d, err := openRootDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	open := func(follow bool) (windows.Handle, error) {
		return ntOpenFollow(windows.Handle(d.Fd()), "a.jpg", windows.FILE_READ_DATA, windows.FILE_SHARE_READ|windows.FILE_SHARE_DELETE,
			windows.FILE_OPEN, windows.FILE_NON_DIRECTORY_FILE, follow)
	}
	h, err := open(false)
	if err != nil {
		t.Fatal(err)
	}
	first, err := handleInfo(h)
	windows.CloseHandle(h)
	if err != nil {
		t.Fatal(err)
	}
	h, err = openSame(first.ID, open)
	if err != nil {
		t.Fatalf("the same file, opened again: %v", err)
	}
	f := os.NewFile(uintptr(h), "a.jpg")
	b := make([]byte, 32)
	n, _ := f.Read(b)
	f.Close()
	if string(b[:n]) != "the photo" {
		t.Fatalf("read %q through the second handle", b[:n])
	}
	// Another file in its place.
	if err := os.Rename(filepath.Join(root, "a.jpg"), filepath.Join(root, "old.jpg")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "a.jpg"), "someone else's file")
	if h, err := openSame(first.ID, open); !errors.Is(err, ErrChanged) {
		if err == nil {
			windows.CloseHandle(h)
		}
		t.Fatalf("another file in its place: %v, want ErrChanged", err)
	}
}

// A scanner or sync client still writing holds its file without sharing: the open
// says busy rather than reading half a file.
func TestWriterHoldingTheFileIsBusy(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "scan.pdf")
	write(t, p, "x")
	name, _ := windows.UTF16PtrFromString(p)
	h, err := windows.CreateFile(name, windows.GENERIC_WRITE, windows.FILE_SHARE_READ, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRoot(root).Open("scan.pdf", ID{}); !errors.Is(err, ErrBusy) {
		t.Errorf("open while a writer holds it: %v", err)
	}
	windows.CloseHandle(h)
	f, err := NewRoot(root).Open("scan.pdf", ID{})
	if err != nil {
		t.Fatalf("released file: %v", err)
	}
	f.Close()
}

// The final path of a handle is what the containment check compares.
func TestFinalPathOfAHandle(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "sub", "a.jpg"), "x")
	d, err := openRootDir(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rp, err := finalPath(d)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewRoot(root).Open(filepath.Join("sub", "a.jpg"), ID{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fp, err := finalPath(f.f)
	if err != nil {
		t.Fatal(err)
	}
	if !inside(rp, fp) || !strings.HasSuffix(strings.ToLower(fp), `\sub\a.jpg`) {
		t.Fatalf("root %q, file %q", rp, fp)
	}
	if err := contained(rp+`\sub\elsewhere`, f.f); !errors.Is(err, ErrOutside) {
		t.Fatalf("a handle outside the root passed: %v", err)
	}
}

// junction makes dir a mount-point reparse point to target, as mklink /J does.
func junction(t *testing.T, target, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, _ := windows.UTF16PtrFromString(dir)
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(h)
	sub, _ := windows.UTF16FromString(`\??\` + target)
	prn, _ := windows.UTF16FromString(target)
	// REPARSE_DATA_BUFFER for IO_REPARSE_TAG_MOUNT_POINT.
	pathBytes := 2*len(sub) + 2*len(prn)
	buf := make([]byte, 8+8+pathBytes)
	le := func(off int, v uint32, n int) {
		for i := 0; i < n; i++ {
			buf[off+i] = byte(v >> (8 * i))
		}
	}
	le(0, windows.IO_REPARSE_TAG_MOUNT_POINT, 4)
	le(4, uint32(8+pathBytes), 2)
	le(8, 0, 2)                       // SubstituteNameOffset
	le(10, uint32(2*(len(sub)-1)), 2) // SubstituteNameLength
	le(12, uint32(2*len(sub)), 2)     // PrintNameOffset
	le(14, uint32(2*(len(prn)-1)), 2) // PrintNameLength
	copy(unsafe.Slice((*uint16)(unsafe.Pointer(&buf[16])), len(sub)+len(prn)), append(sub, prn...))
	var n uint32
	if err := windows.DeviceIoControl(h, windows.FSCTL_SET_REPARSE_POINT, &buf[0], uint32(len(buf)), nil, 0, &n, nil); err != nil {
		t.Skip("cannot make junctions here:", err)
	}
}

// A patient sub-folder replaced by a junction to an outside folder, the case a
// standard user can set up without any privilege: nothing is read, moved or deleted
// through it.
func TestJunctionIsNeverFollowed(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(outside, "x.jpg"), "system only")
	junction(t, outside, filepath.Join(root, "ZZZ0016"))
	if b, err := os.ReadFile(filepath.Join(root, "ZZZ0016", "x.jpg")); err != nil || string(b) != "system only" {
		t.Skipf("the junction does not work here (%v), so this cannot test refusing it", err)
	}
	r := NewRoot(root)
	rel := filepath.Join("ZZZ0016", "x.jpg")
	if _, err := r.Open(rel, ID{}); !errors.Is(err, ErrLink) {
		t.Fatalf("open through a junction: %v", err)
	}
	if _, err := r.Move(rel, SentDir, nil); !errors.Is(err, ErrLink) {
		t.Fatalf("move through a junction: %v", err)
	}
	if err := r.Remove(rel, nil); !errors.Is(err, ErrLink) {
		t.Fatalf("delete through a junction: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "x.jpg")); err != nil {
		t.Fatalf("the outside file was touched: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(outside, SentDir)); err == nil {
		t.Fatal("a Sent folder was made outside the watched folder")
	}
	// The root itself a junction.
	if _, err := NewRoot(filepath.Join(root, "ZZZ0016")).Open("x.jpg", ID{}); !errors.Is(err, ErrLink) {
		t.Fatalf("a watched folder that is a junction: %v", err)
	}
}
