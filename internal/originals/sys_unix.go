//go:build unix

package originals

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func lstat(path string) (Info, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return Info{}, err
	}
	return infoOf(fi), nil
}

func infoOf(fi fs.FileInfo) Info {
	i := Info{Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		i.ID = ID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
		i.Links = uint64(st.Nlink)
	}
	return i
}

func statHandle(f *os.File) (Info, error) {
	fi, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	return infoOf(fi), nil
}

// dirFlags open a folder without following a link; O_NONBLOCK so that a FIFO in its
// place can never block the open.
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK

func openRootDir(path string) (*os.File, error) {
	fd, err := unix.Open(path, dirFlags, 0)
	if err != nil {
		var st unix.Stat_t
		return nil, dirError(err, "The watched folder itself", unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func openDirAt(d *os.File, name string, create bool) (*os.File, error) {
	if create {
		if err := unix.Mkdirat(int(d.Fd()), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, &fs.PathError{Op: "mkdirat", Path: name, Err: err}
		}
	}
	fd, err := unix.Openat(int(d.Fd()), name, dirFlags, 0)
	if err != nil {
		var st unix.Stat_t
		return nil, dirError(err, "", unix.Fstatat(int(d.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// dirError turns a failed no-follow folder open into a refusal when a link or a
// non-folder is in the way. Linux says ENOTDIR, not ELOOP, for a link to a folder
// opened with O_DIRECTORY|O_NOFOLLOW, so isLink is looked up by the caller.
func dirError(err error, what string, isLink bool) error {
	switch {
	case errors.Is(err, unix.ELOOP) || isLink && errors.Is(err, unix.ENOTDIR):
		if what != "" {
			return refuse(ErrLink, "%s is a symbolic link, which ClinicPro never follows: set the folder's real path in the configuration.", what)
		}
		return describeDir(fs.ModeSymlink)
	case errors.Is(err, unix.ENOTDIR):
		return describeDir(0)
	}
	return &fs.PathError{Op: "openat", Path: "", Err: err}
}

func openFileAt(d *os.File, name string, forChange bool) (*os.File, error) {
	dfd := int(d.Fd())
	// Look before opening, so that a device is never opened (opening some has side
	// effects); the handle is checked again after, in case of a swap in between.
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &fs.PathError{Op: "fstatat", Path: "", Err: err}
	}
	if err := Describe(modeOf(st.Mode)); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ELOOP):
		return nil, Describe(fs.ModeSymlink)
	case errors.Is(err, unix.ENXIO):
		return nil, Describe(fs.ModeSocket)
	case err != nil:
		return nil, &fs.PathError{Op: "openat", Path: "", Err: err}
	}
	// O_NONBLOCK was only for the open (a FIFO swapped in); reads of a regular file
	// ignore it, but say what we mean.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

func modeOf(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

// still checks that name in d is still the file f, just before a rename or delete
// by name (Unix has no rename or delete by handle).
func still(d *os.File, name string, f *File) error {
	var st unix.Stat_t
	if err := unix.Fstatat(int(d.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "fstatat", Path: "", Err: err}
	}
	if (ID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}) != f.info.ID {
		return ErrChanged
	}
	return nil
}

func renameAt(d *os.File, name string, f *File, to *os.File, dst string) error {
	if err := still(d, name, f); err != nil {
		return err
	}
	return renameNoReplace(int(d.Fd()), name, int(to.Fd()), dst)
}

func removeAt(d *os.File, name string, f *File) error {
	if err := still(d, name, f); err != nil {
		return err
	}
	if err := unix.Unlinkat(int(d.Fd()), name, 0); err != nil {
		return &fs.PathError{Op: "unlinkat", Path: "", Err: err}
	}
	return nil
}
