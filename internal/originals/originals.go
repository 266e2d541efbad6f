// Package originals is everything the agent does to the original files in watched
// folders: which names it skips, how it opens one to copy it, and how it moves one to
// Sent or Rejected or deletes it once Medtech holds it.
//
// The agent runs as SYSTEM and the folders are usually writable by every user of
// the PC, so any name in them may be swapped for a symbolic link, a junction or a
// FIFO at any moment. Nothing here follows a link: a path is walked one component
// at a time from the folder's root, each folder opened relative to the one before
// without following links (O_NOFOLLOW on Unix, FILE_OPEN_REPARSE_POINT on Windows,
// where a reparse point is refused unless it is the file itself, as a OneDrive file
// is), and every later step works on the handle that was checked, never on the
// path again. A file must be a regular file with a
// single name, and its handle's resolved path must lie inside the root.
package originals

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Subfolders of a watched folder that hold originals the agent has finished with.
// The watcher never looks inside them.
const (
	SentDir     = "Sent"
	RejectedDir = "Rejected"
)

// SkipDir reports whether a folder is not looked in: Sent and Rejected hold files we
// have finished with; hidden folders belong to sync clients.
func SkipDir(name string) bool {
	l := strings.ToLower(name)
	return l == strings.ToLower(SentDir) || l == strings.ToLower(RejectedDir) ||
		strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") || l == "$recycle.bin"
}

// SkipFile matches files that are still being written or are not documents: Office
// lock files (~$x), editors' and browsers' partial downloads, dot files, and the
// thumbnail caches Windows drops into picture folders.
func SkipFile(name string) bool {
	l := strings.ToLower(name)
	if strings.HasPrefix(name, "~") || strings.HasPrefix(name, ".") {
		return true
	}
	for _, suf := range []string{".tmp", ".part", ".partial", ".crdownload", ".download", ".!sync"} {
		if strings.HasSuffix(l, suf) {
			return true
		}
	}
	return l == "thumbs.db" || l == "desktop.ini"
}

// SkipRel reports whether rel (a path below a root) lies in a skipped folder.
func SkipRel(rel string) bool {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for _, p := range parts[:len(parts)-1] {
		if SkipDir(p) {
			return true
		}
	}
	return false
}

// ID identifies a file whatever its name: device and inode on Unix, volume serial
// and file index on Windows. Comparable.
type ID struct{ Dev, Ino uint64 }

// Info is what was seen of a file without following links.
type Info struct {
	Mode    fs.FileMode
	Size    int64
	ModTime time.Time
	ID      ID
	Links   uint64 // number of names (hard links)
}

// Refusal is a file or folder the agent will not touch, with a sentence saying what
// it is and what a person can do. It never contains the path.
type Refusal struct {
	Reason string
	err    error // the kind, for errors.Is
}

func (r *Refusal) Error() string { return r.Reason }
func (r *Refusal) Unwrap() error { return r.err }

// Kinds of refusal, for errors.Is.
var (
	// ErrLink: a symbolic link, junction or other reparse point, as the file or as
	// any folder between the root and it.
	ErrLink = errors.New("link")
	// ErrNotRegular: a FIFO, device, socket or folder where a file was expected.
	ErrNotRegular = errors.New("not a regular file")
	// ErrHardLinked: the file has more than one name.
	ErrHardLinked = errors.New("hard-linked")
	// ErrOutside: the path or the handle's resolved path is not inside the root.
	ErrOutside = errors.New("outside the watched folder")
	// ErrChanged: the file is not the one that was observed (another file was put in
	// its place, or its content changed). Not a refusal: look again later.
	ErrChanged = errors.New("the file changed while it was being taken; it will be looked at again")
	// ErrBusy: another program holds the file open for writing (Windows).
	ErrBusy = errors.New("the file is still open in another program")
)

func refuse(kind error, format string, a ...any) error {
	return &Refusal{Reason: fmt.Sprintf(format, a...), err: kind}
}

// Describe says why an entry seen with mode cannot be taken, or "" if it is a
// regular file. The sentences name no path.
func Describe(mode fs.FileMode) error {
	switch {
	case mode.IsRegular():
		return nil
	case mode&fs.ModeSymlink != 0:
		return refuse(ErrLink, "It is a symbolic link, and ClinicPro never follows links out of a watched folder: put the file itself in the folder.")
	case mode&fs.ModeIrregular != 0:
		return refuse(ErrLink, "It is a junction, link or other reparse point, which ClinicPro does not follow: put the file itself in the folder.")
	case mode&fs.ModeNamedPipe != 0:
		return refuse(ErrNotRegular, "It is a named pipe (FIFO), not a file: remove it from the watched folder.")
	case mode&fs.ModeSocket != 0:
		return refuse(ErrNotRegular, "It is a socket, not a file: remove it from the watched folder.")
	case mode&fs.ModeDevice != 0:
		return refuse(ErrNotRegular, "It is a device, not a file: remove it from the watched folder.")
	case mode.IsDir():
		return refuse(ErrNotRegular, "It is a folder, not a file.")
	}
	return refuse(ErrNotRegular, "It is not an ordinary file: remove it from the watched folder.")
}

// describeDir is Describe for a folder on the way to a file.
func describeDir(mode fs.FileMode) error {
	switch {
	case mode.IsDir():
		return nil
	case mode&(fs.ModeSymlink|fs.ModeIrregular) != 0:
		return refuse(ErrLink, "A folder on its path is a link or junction, which ClinicPro never follows: put the files in a real folder.")
	}
	return refuse(ErrNotRegular, "Something on its path is not a folder.")
}

// Root is one watched folder.
type Root struct{ path string }

// NewRoot returns the watched folder at path.
func NewRoot(path string) Root { return Root{path: filepath.Clean(path)} }

// Path is the folder's cleaned path.
func (r Root) Path() string { return r.path }

// Rel returns p below the root, lexically; ok is false when p is not inside it (or is
// the root itself). Windows paths compare without case.
func (r Root) Rel(p string) (rel string, ok bool) {
	p = filepath.Clean(p)
	prefix := r.path + string(filepath.Separator)
	if strings.HasSuffix(r.path, string(filepath.Separator)) {
		prefix = r.path
	}
	if len(p) <= len(prefix) || !samePrefix(p[:len(prefix)], prefix) {
		return "", false
	}
	rel = p[len(prefix):]
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if part == ".." || part == "." || part == "" {
			return "", false
		}
	}
	return rel, true
}

func samePrefix(a, b string) bool {
	if runtime.GOOS == "windows" {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// inside reports whether the resolved path p lies below the resolved root.
func inside(root, p string) bool {
	_, ok := Root{path: filepath.Clean(root)}.Rel(p)
	return ok
}

// Roots is the set of watched folders, to find the one an item's original is in.
type Roots []Root

// Find returns the innermost root that contains p, and p below it.
func (rs Roots) Find(p string) (Root, string, bool) {
	var best Root
	var bestRel string
	found := false
	for _, r := range rs {
		if rel, ok := r.Rel(p); ok && (!found || len(r.path) > len(best.path)) {
			best, bestRel, found = r, rel, true
		}
	}
	return best, bestRel, found
}

// split returns the folder components and the file name of rel.
func split(rel string) (dirs []string, name string, err error) {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsRune(p, 0) {
			return nil, "", refuse(ErrOutside, "The file's path leads out of the watched folder.")
		}
	}
	return parts[:len(parts)-1], parts[len(parts)-1], nil
}
