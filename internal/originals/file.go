package originals

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// File is an original opened for reading after every check passed. It is read from
// the handle that was checked; nothing opens the path again.
type File struct {
	f    *os.File
	info Info
}

func (f *File) Read(p []byte) (int, error) { return f.f.Read(p) }

// Info is the handle's own view of the file.
func (f *File) Info() Info { return f.info }

// Close closes the handle.
func (f *File) Close() error { return f.f.Close() }

// Lstat describes the entry at path without following a link, with its identity.
func Lstat(path string) (Info, error) { return lstat(path) }

// Open opens rel below the root for reading, following no link on the way. want,
// when not zero, is the identity the file had when it was observed stable: another
// file in its place is ErrChanged, so the caller looks again. It fails with a
// *Refusal for a link, junction, FIFO, device or hard-linked file, or a handle that
// resolves outside the root; and with ErrBusy while a writer holds it (Windows).
func (r Root) Open(rel string, want ID) (*File, error) {
	dirs, name, err := split(rel)
	if err != nil {
		return nil, err
	}
	parent, rootReal, err := r.walk(dirs, false)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	return openChecked(parent, rootReal, name, want, false)
}

// openChecked opens name in parent and checks the handle. forChange asks for the
// access a rename or delete needs, and allows a file with several names (moving or
// deleting one name of it touches nothing else).
func openChecked(parent *os.File, rootReal, name string, want ID, forChange bool) (*File, error) {
	h, err := openFileAt(parent, name, forChange)
	if err != nil {
		return nil, err
	}
	info, err := statHandle(h)
	if err == nil {
		err = Describe(info.Mode)
	}
	if err == nil && info.Links > 1 && !forChange {
		err = refuse(ErrHardLinked, "The file has other names elsewhere on the disk (hard links), so ClinicPro cannot tell whose file it is: copy it into the folder instead.")
	}
	if err == nil && want != (ID{}) && info.ID != want {
		err = ErrChanged
	}
	if err == nil {
		err = contained(rootReal, h)
	}
	if err != nil {
		h.Close()
		return nil, err
	}
	return &File{f: h, info: info}, nil
}

// contained checks that the handle's resolved path lies inside the resolved root.
// The walk already made that so; this is the check that does not depend on it.
func contained(rootReal string, h *os.File) error {
	if rootReal == "" {
		return nil // this OS cannot say where a handle is
	}
	p, err := finalPath(h)
	if err != nil {
		return fmt.Errorf("cannot tell where the file is: %w", Pathless(err))
	}
	if !inside(rootReal, p) {
		return refuse(ErrOutside, "The file resolves to a place outside the watched folder, so ClinicPro will not touch it.")
	}
	return nil
}

// walk opens the root and then each folder in dirs without following links,
// returning the last one opened and the root's resolved path. create makes missing
// folders (for Sent and Rejected).
func (r Root) walk(dirs []string, create bool) (*os.File, string, error) {
	d, err := openRootDir(r.path)
	if err != nil {
		return nil, "", err
	}
	rootReal, err := finalPath(d)
	if err != nil {
		d.Close()
		return nil, "", fmt.Errorf("cannot tell where the watched folder is: %w", Pathless(err))
	}
	for _, name := range dirs {
		next, err := openDirAt(d, name, create)
		d.Close()
		if err != nil {
			return nil, "", err
		}
		d = next
	}
	return d, rootReal, nil
}

// Move moves the original rel into the folder sub ("Sent" or "Rejected") beside it,
// creating that folder, keeping the name unless it is taken ("a (2).jpg"); it
// returns the new path below the root. check, when set, is given the opened file
// first, and an error from it leaves the file where it is. An original that is no
// longer there is not an error: Move returns "" and nil.
func (r Root) Move(rel, sub string, check func(*File) error) (string, error) {
	dirs, name, err := split(rel)
	if err != nil {
		return "", err
	}
	parent, rootReal, err := r.walk(dirs, false)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer parent.Close()
	f, err := openChecked(parent, rootReal, name, ID{}, true)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	if check != nil {
		if err := check(f); err != nil {
			return "", err
		}
	}
	to, err := openDirAt(parent, sub, true)
	if err != nil {
		return "", fmt.Errorf("could not open the %s folder: %w", sub, Pathless(err))
	}
	defer to.Close()
	if err := contained(rootReal, to); err != nil {
		return "", err
	}
	ext := extOf(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 1; n < 10000; n++ {
		dst := name
		if n > 1 {
			dst = fmt.Sprintf("%s (%d)%s", stem, n, ext)
		}
		err := renameAt(parent, name, f, to, dst)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("could not move it to the %s folder: %w", sub, Pathless(err))
		}
		return joinRel(dirs, sub, dst), nil
	}
	return "", fmt.Errorf("the %s folder holds too many files with this name", sub)
}

// Remove deletes the original rel after check (when set) accepts it. An original
// that is no longer there is not an error.
func (r Root) Remove(rel string, check func(*File) error) error {
	dirs, name, err := split(rel)
	if err != nil {
		return err
	}
	parent, rootReal, err := r.walk(dirs, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer parent.Close()
	f, err := openChecked(parent, rootReal, name, ID{}, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if check != nil {
		if err := check(f); err != nil {
			return err
		}
	}
	if err := removeAt(parent, name, f); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not delete it: %w", Pathless(err))
	}
	return nil
}

func extOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[i:]
	}
	return ""
}

func joinRel(dirs []string, more ...string) string {
	return strings.Join(append(append([]string{}, dirs...), more...), string(os.PathSeparator))
}

// Pathless drops the path from a file-system error: paths of watched files can hold
// an NHI, and these errors reach logs. errors.Is still sees the cause.
func Pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("%s: %w", le.Op, le.Err)
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return fmt.Errorf("%s: %w", se.Syscall, se.Err)
	}
	return err
}

var _ io.Reader = (*File)(nil)

// ErrOtherContent: the original's content is not what was taken, so it is a newer
// version that has not been sent; it is left where it is.
var ErrOtherContent = errors.New("the file in the folder has changed since it was taken, so it was left where it is; the new version is taken as a new file")

// SameContent is the check to pass to Move or Remove once an item is sent or
// discarded: only an original whose content hashes to sha256hex (what was taken)
// is moved or deleted.
func SameContent(sha256hex string) func(*File) error {
	return func(f *File) error {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return fmt.Errorf("could not read it to check it: %w", Pathless(err))
		}
		if !strings.EqualFold(hex.EncodeToString(h.Sum(nil)), sha256hex) {
			return ErrOtherContent
		}
		return nil
	}
}
