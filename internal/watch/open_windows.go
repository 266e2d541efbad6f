package watch

import (
	"errors"

	"golang.org/x/sys/windows"
)

// platformOpener tries to open the file with no sharing at all: a scanner, camera
// import or sync client still writing holds it open, and the open fails with a
// sharing violation.
type platformOpener struct{}

func (platformOpener) CanOpenExclusive(path string) bool {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return false
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, 0, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		// Other failures (access denied) are reported when the file is read, with a
		// reason a person can act on; only "someone has it open" means wait.
		return !errors.Is(err, windows.ERROR_SHARING_VIOLATION) && !errors.Is(err, windows.ERROR_LOCK_VIOLATION)
	}
	windows.CloseHandle(h)
	return true
}
