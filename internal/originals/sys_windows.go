package originals

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Every open here passes FILE_OPEN_REPARSE_POINT, so a symbolic link, junction or
// mount point is opened as itself rather than followed, and a handle that turns out
// to be one is refused (handleMode). The exception is a reparse point that is the
// file itself (followable: a OneDrive, deduplicated or compressed file), whose
// bytes only its filter gives: a file is opened again through the filter, relative
// to the same folder handle, and must be the same file. Folders below the root are
// opened relative to their parent's handle (NtCreateFile with RootDirectory), so no
// path is ever resolved twice.

func lstat(path string) (Info, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return Info{}, err
	}
	i := Info{Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}
	// A symbolic link is said as one. Anything else Go calls irregular may be a
	// reparse point that is the file itself (a OneDrive file), which only the
	// handle's reparse tag tells.
	if !i.Mode.IsRegular() && i.Mode&fs.ModeIrregular == 0 {
		return i, nil
	}
	p, err := windows.UTF16PtrFromString(longPath(path))
	if err != nil {
		return Info{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.FILE_READ_ATTRIBUTES,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return Info{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer windows.CloseHandle(h)
	return handleInfo(h)
}

func statHandle(f *os.File) (Info, error) { return handleInfo(windows.Handle(f.Fd())) }

func handleInfo(h windows.Handle) (Info, error) {
	i, _, err := handleInfoAttrs(h)
	return i, err
}

// handleInfoAttrs is handleInfo with the handle's file attributes.
func handleInfoAttrs(h windows.Handle) (Info, uint32, error) {
	var d windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &d); err != nil {
		return Info{}, 0, err
	}
	ft, err := windows.GetFileType(h)
	if err != nil {
		return Info{}, 0, err
	}
	var tag uint32
	if d.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		if tag, err = reparseTag(h); err != nil {
			return Info{}, 0, err
		}
	}
	return Info{
		Mode:    handleMode(d.FileAttributes, tag, ft),
		Size:    int64(d.FileSizeHigh)<<32 | int64(d.FileSizeLow),
		ModTime: time.Unix(0, d.LastWriteTime.Nanoseconds()),
		ID:      ID{Dev: uint64(d.VolumeSerialNumber), Ino: uint64(d.FileIndexHigh)<<32 | uint64(d.FileIndexLow)},
		Links:   uint64(d.NumberOfLinks),
	}, d.FileAttributes, nil
}

// reparseTag is the reparse tag of the entry h was opened on (with
// FILE_OPEN_REPARSE_POINT, so the entry itself).
func reparseTag(h windows.Handle) (uint32, error) {
	var ti struct{ FileAttributes, ReparseTag uint32 } // FILE_ATTRIBUTE_TAG_INFO
	if err := windows.GetFileInformationByHandleEx(h, windows.FileAttributeTagInfo, (*byte)(unsafe.Pointer(&ti)), uint32(unsafe.Sizeof(ti))); err != nil {
		return 0, err
	}
	return ti.ReparseTag, nil
}

// handleMode maps what Windows says of a handle to a file mode. A reparse point
// is irregular, so it is refused, unless its tag says it is the file or folder
// itself (followable).
func handleMode(attrs, tag, fileType uint32) fs.FileMode {
	switch {
	case attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 && !followable(tag):
		return fs.ModeIrregular
	case attrs&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		return fs.ModeDir
	case fileType == windows.FILE_TYPE_PIPE:
		return fs.ModeNamedPipe
	case fileType == windows.FILE_TYPE_CHAR:
		return fs.ModeDevice | fs.ModeCharDevice
	case fileType != windows.FILE_TYPE_DISK:
		return fs.ModeIrregular
	}
	return 0
}

// longPath lets CreateFile open paths past MAX_PATH (a 242-character name in a
// folder is one).
func longPath(p string) string {
	if len(p) < 248 || strings.HasPrefix(p, `\\?\`) {
		return p
	}
	if strings.HasPrefix(p, `\\`) {
		return `\\?\UNC\` + p[2:]
	}
	return `\\?\` + p
}

func openRootDir(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(longPath(path))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.FILE_LIST_DIRECTORY|windows.FILE_TRAVERSE|windows.FILE_READ_ATTRIBUTES|windows.SYNCHRONIZE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err := checkDir(h, "The watched folder itself"); err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	return os.NewFile(uintptr(h), path), nil
}

func checkDir(h windows.Handle, what string) error {
	i, err := handleInfo(h)
	if err != nil {
		return err
	}
	if i.Mode&fs.ModeIrregular != 0 && what != "" {
		return refuse(ErrLink, "%s is a junction or link, which ClinicPro never follows: set the folder's real path in the configuration.", what)
	}
	return describeDir(i.Mode)
}

// ntOpen opens name relative to the folder handle dir, never following a reparse
// point.
func ntOpen(dir windows.Handle, name string, access, share, disposition, options uint32) (windows.Handle, error) {
	return ntOpenFollow(dir, name, access, share, disposition, options, false)
}

// ntOpenFollow is ntOpen, or with follow an open through a reparse point's
// filter (only for throughFilter, which checks what it got).
func ntOpenFollow(dir windows.Handle, name string, access, share, disposition, options uint32, follow bool) (windows.Handle, error) {
	if !follow {
		options |= windows.FILE_OPEN_REPARSE_POINT
	}
	if strings.ContainsAny(name, `\/:`) {
		return 0, refuse(ErrOutside, "The file's path leads out of the watched folder.")
	}
	uname, err := windows.NewNTUnicodeString(name)
	if err != nil {
		return 0, err
	}
	oa := &windows.OBJECT_ATTRIBUTES{RootDirectory: dir, ObjectName: uname, Attributes: windows.OBJ_CASE_INSENSITIVE}
	oa.Length = uint32(unsafe.Sizeof(*oa))
	var h windows.Handle
	var iosb windows.IO_STATUS_BLOCK
	err = windows.NtCreateFile(&h, access|windows.SYNCHRONIZE|windows.FILE_READ_ATTRIBUTES, oa, &iosb, nil,
		windows.FILE_ATTRIBUTE_NORMAL, share, disposition,
		options|windows.FILE_SYNCHRONOUS_IO_NONALERT, 0, 0)
	if err != nil {
		return 0, ntError(err)
	}
	return h, nil
}

// ntError turns an NTSTATUS into the Win32 error os and errors.Is understand.
func ntError(err error) error {
	var st windows.NTStatus
	if errors.As(err, &st) {
		switch st {
		case windows.STATUS_SHARING_VIOLATION:
			return ErrBusy
		case windows.STATUS_FILE_IS_A_DIRECTORY:
			return Describe(fs.ModeDir)
		case windows.STATUS_NOT_A_DIRECTORY:
			return describeDir(0)
		}
		return &fs.PathError{Op: "NtCreateFile", Path: "", Err: st.Errno()}
	}
	return err
}

func openDirAt(d *os.File, name string, create bool) (*os.File, error) {
	disp := uint32(windows.FILE_OPEN)
	if create {
		disp = windows.FILE_OPEN_IF
	}
	h, err := ntOpen(windows.Handle(d.Fd()), name, windows.FILE_LIST_DIRECTORY|windows.FILE_TRAVERSE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, disp, windows.FILE_DIRECTORY_FILE)
	if err != nil {
		return nil, err
	}
	if err := checkDir(h, ""); err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	return os.NewFile(uintptr(h), name), nil
}

// openFileAt shares the file with readers only (and with a rename or delete, so
// the agent can move a duplicate to Sent while it holds it): a writer that still has
// it open makes this fail with ErrBusy (the file is not finished), and nobody can
// write to it while it is copied.
func openFileAt(d *os.File, name string, forChange bool) (*os.File, error) {
	access := uint32(windows.FILE_READ_DATA)
	if forChange {
		access |= windows.DELETE
	}
	dir := windows.Handle(d.Fd())
	open := func(follow bool) (windows.Handle, error) {
		return ntOpenFollow(dir, name, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_DELETE, windows.FILE_OPEN,
			windows.FILE_NON_DIRECTORY_FILE|windows.FILE_SEQUENTIAL_ONLY, follow)
	}
	h, err := open(false)
	if err != nil {
		return nil, err
	}
	if h, err = throughFilter(h, open); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(h), name), nil
}

// throughFilter returns h itself unless it is a followable reparse point (a
// OneDrive, deduplicated or compressed file): opened as itself, such a file reads
// as its reparse data or not at all, so it is opened again through its filter. A
// link put in its place in between would be followed by that second open, to
// another file: the second handle must be the same file as the first (volume and
// file index), or the open fails with ErrChanged and the file is looked at again.
// h is closed when another handle is returned, and on error.
func throughFilter(h windows.Handle, open func(follow bool) (windows.Handle, error)) (windows.Handle, error) {
	first, attrs, err := handleInfoAttrs(h)
	if err != nil {
		windows.CloseHandle(h)
		return 0, err
	}
	if attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT == 0 || first.Mode&fs.ModeIrregular != 0 {
		return h, nil // an ordinary file, or a link the caller refuses
	}
	windows.CloseHandle(h)
	return openSame(first.ID, open)
}

// openSame opens the file again through its filter and checks it is the file
// whose identity is want.
func openSame(want ID, open func(follow bool) (windows.Handle, error)) (windows.Handle, error) {
	h, err := open(true)
	if err != nil {
		return 0, err
	}
	got, err := handleInfo(h)
	if err == nil && got.ID != want {
		err = ErrChanged
	}
	if err != nil {
		windows.CloseHandle(h)
		return 0, err
	}
	return h, nil
}

func finalPath(f *os.File) (string, error) {
	buf := make([]uint16, 512)
	for {
		n, err := windows.GetFinalPathNameByHandle(windows.Handle(f.Fd()), &buf[0], uint32(len(buf)),
			0) // FILE_NAME_NORMALIZED|VOLUME_NAME_DOS
		if err != nil {
			return "", err
		}
		if int(n) < len(buf) {
			return windows.UTF16ToString(buf[:n]), nil
		}
		buf = make([]uint16, n+1)
	}
}

// renameAt renames the checked handle itself into the folder to: whatever the name
// in d has become meanwhile, only the file that was checked moves.
func renameAt(_ *os.File, _ string, f *File, to *os.File, dst string) error {
	name, err := windows.UTF16FromString(dst)
	if err != nil {
		return err
	}
	name = name[:len(name)-1]
	// FILE_RENAME_INFORMATION: ReplaceIfExists (padded to 8), RootDirectory,
	// FileNameLength, FileName.
	const nameOff = 20
	buf := make([]byte, nameOff+2*len(name)+2)
	*(*uint32)(unsafe.Pointer(&buf[0])) = 0 // never replace
	*(*windows.Handle)(unsafe.Pointer(&buf[8])) = windows.Handle(to.Fd())
	*(*uint32)(unsafe.Pointer(&buf[16])) = uint32(2 * len(name))
	copy(unsafe.Slice((*uint16)(unsafe.Pointer(&buf[nameOff])), len(name)), name)
	var iosb windows.IO_STATUS_BLOCK
	err = windows.NtSetInformationFile(windows.Handle(f.f.Fd()), &iosb, &buf[0], uint32(len(buf)), windows.FileRenameInformation)
	if err != nil {
		var st windows.NTStatus
		if errors.As(err, &st) && st == windows.STATUS_OBJECT_NAME_COLLISION {
			return fs.ErrExist
		}
		return ntError(err)
	}
	return nil
}

// removeAt deletes the checked handle itself.
func removeAt(_ *os.File, _ string, f *File) error {
	del := byte(1)
	var iosb windows.IO_STATUS_BLOCK
	if err := windows.NtSetInformationFile(windows.Handle(f.f.Fd()), &iosb, &del, 1, windows.FileDispositionInformation); err != nil {
		return ntError(err)
	}
	return nil
}
