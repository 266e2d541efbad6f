//go:build !unix

package hostile

import "errors"

// mkfifo: Windows has no named pipes in the file system.
func mkfifo(string) error { return errors.New("no FIFOs on this system") }
