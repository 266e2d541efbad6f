package logfile

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func write(t *testing.T, path string, rollPast int64, s string) {
	t.Helper()
	f, err := Open(path, rollPast, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOpenCreatesFolderAndAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "logs", "agent.log")
	write(t, path, 100, "first\n")
	write(t, path, 100, "second\n")
	if got := read(t, path); got != "first\nsecond\n" {
		t.Fatalf("log is %q, want both starts appended", got)
	}
	if _, err := os.Stat(path + ".1"); !os.IsNotExist(err) {
		t.Fatalf("rolled a log under the limit: %v", err)
	}
}

func TestOpenRollsPastLimitAndKeepsOneCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tray.log")
	const limit = 10
	write(t, path, limit, strings.Repeat("a", limit)) // exactly at the limit: not past it
	write(t, path, limit, "b")
	if got := read(t, path); got != strings.Repeat("a", limit)+"b" {
		t.Fatalf("a log at the limit was not appended to: %q", got)
	}
	if _, err := os.Stat(path + ".1"); !os.IsNotExist(err) {
		t.Fatalf("rolled a log that was not past the limit: %v", err)
	}

	write(t, path, limit, "run 2\n") // now 11 bytes: rolled
	if got := read(t, path); got != "run 2\n" {
		t.Fatalf("new log is %q, want only this run", got)
	}
	if got := read(t, path+".1"); got != strings.Repeat("a", limit)+"b" {
		t.Fatalf("old copy is %q", got)
	}

	write(t, path, limit, strings.Repeat("c", limit)) // "run 2\n"+10 c: past the limit
	write(t, path, limit, "run 4\n")
	if got := read(t, path+".1"); got != "run 2\n"+strings.Repeat("c", limit) {
		t.Fatalf("old copy is %q, want the previous log replacing the older one", got)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("folder holds %v, want the log and one old copy", names)
	}
}

func TestOpenMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows keeps only the read-only bit; the folder's ACL decides who reads")
	}
	for _, perm := range []os.FileMode{0o600, 0o640} {
		dir := filepath.Join(t.TempDir(), "logs")
		path := filepath.Join(dir, "x.log")
		f, err := Open(path, 1<<20, perm)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		// The umask can only take bits away, so check nothing beyond perm was granted
		// and the owner can still write.
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m&^perm != 0 || m&0o600 != 0o600 {
			t.Errorf("perm %o: file mode %o", perm, m)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m := di.Mode().Perm(); m&^dirPerm(perm) != 0 || m&0o700 != 0o700 {
			t.Errorf("perm %o: folder mode %o", perm, m)
		}
	}
	if got := dirPerm(0o640); got != 0o750 {
		t.Errorf("dirPerm(0640) = %o, want 0750", got)
	}
	if got := dirPerm(0o600); got != 0o700 {
		t.Errorf("dirPerm(0600) = %o, want 0700", got)
	}
}

func TestOpenReportsUnwritableFolder(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(parent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A regular file where the folder should be fails for every account, root included.
	if _, err := Open(filepath.Join(parent, "logs", "agent.log"), 1, 0o600); err == nil || !strings.Contains(err.Error(), "log folder") {
		t.Fatalf("err = %v, want one naming the log folder", err)
	}
}
