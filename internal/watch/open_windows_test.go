package watch

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"
)

// A writer that holds the file without sharing (as scanners and sync clients do)
// makes the file not yet complete; once it lets go, the file can be taken.
func TestExclusiveOpenSeesWriter(t *testing.T) {
	p := filepath.Join(t.TempDir(), "scan.pdf")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	name, _ := windows.UTF16PtrFromString(p)
	h, err := windows.CreateFile(name, windows.GENERIC_WRITE, windows.FILE_SHARE_READ, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if (platformOpener{}).CanOpenExclusive(p) {
		t.Error("a file held open by its writer was reported complete")
	}
	windows.CloseHandle(h)
	if !(platformOpener{}).CanOpenExclusive(p) {
		t.Error("a released file was reported busy")
	}
}
