//go:build unix && !linux

package originals

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// finalPath: this OS cannot say where a handle is; the no-follow walk alone keeps
// the file inside the root.
func finalPath(*os.File) (string, error) { return "", nil }

func renameNoReplace(fromDir int, from string, toDir int, to string) error {
	var st unix.Stat_t
	if unix.Fstatat(toDir, to, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		return fs.ErrExist
	}
	if err := unix.Renameat(fromDir, from, toDir, to); err != nil {
		return &fs.PathError{Op: "renameat", Path: "", Err: err}
	}
	return nil
}
