//go:build unix

package originals

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A FIFO where a file was expected is refused at once: opening one for reading
// without O_NONBLOCK waits for a writer forever, which once stopped all watching.
func TestFIFORefusedWithoutBlocking(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "ZZZ0016 x.jpg"), 0o666); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := NewRoot(root).Open("ZZZ0016 x.jpg", ID{}); done <- err }()
	select {
	case err := <-done:
		refusedAs(t, err, ErrNotRegular)
	case <-time.After(30 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
	// And through the race path: looked at as a file, a FIFO by the time of open.
	d, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := openFileAt(d, "ZZZ0016 x.jpg", false); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("open of a FIFO: %v", err)
	}
}

func TestDeviceRefused(t *testing.T) {
	root := t.TempDir()
	os.Symlink("/dev/zero", filepath.Join(root, "zero.jpg"))
	_, err := NewRoot(root).Open("zero.jpg", ID{})
	refusedAs(t, err, ErrLink)
	_, err = NewRoot("/dev").Open("null", ID{})
	refusedAs(t, err, ErrNotRegular)
}
