//go:build !windows

package datadir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestSecureCreatesAndRepairs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Secure(dir); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("new data folder mode %o, want 0700", m)
	}
	// As an older agent left it: readable by every local user.
	os.Chmod(dir, 0o755)
	os.MkdirAll(filepath.Join(dir, "spool"), 0o755)
	for _, f := range []string{"queue.db", "queue.db-wal", "spool/1.jpg", "config.toml"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	outside := filepath.Join(t.TempDir(), "elsewhere.txt")
	os.WriteFile(outside, []byte("not ours"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "link"))
	res, err := Secure(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "spool")} {
		if m := mode(t, p); m != 0o700 {
			t.Errorf("%s mode %o, want 0700", p, m)
		}
	}
	for _, f := range []string{"queue.db", "queue.db-wal", "spool/1.jpg", "config.toml"} {
		p := filepath.Join(dir, f)
		if m := mode(t, p); m != 0o600 {
			t.Errorf("%s mode %o, want 0600", f, m)
		}
		if !slices.Contains(res.Repaired, p) {
			t.Errorf("%s not reported as repaired: %v", f, res.Repaired)
		}
	}
	if m := mode(t, outside); m != 0o644 {
		t.Errorf("a file outside the folder, reached by a link, was changed to %o", m)
	}
	if res, err := Secure(dir); err != nil || len(res.Repaired) != 0 {
		t.Fatalf("second run: %v, %v; want nothing to repair", res.Repaired, err)
	}
}

func TestSecureRefusesAForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user; the rule itself is TestJudgeUnix")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := Secure(dir); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(dir, "config.toml")
	os.WriteFile(planted, []byte("relay_url = \"https://evil.example\"\n"), 0o600)
	if err := os.Chown(planted, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	_, err := Secure(dir)
	var ue *UntrustedError
	if !errors.As(err, &ue) || ue.Path != planted || ue.Owner != "uid:4242" {
		t.Fatalf("err = %v, want the planted file refused", err)
	}
}

func TestWritePrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "connector.key")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p+".tmp", []byte("left by a crash"), 0o644)
	if err := WritePrivate(p, []byte("k1")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "k1" || mode(t, p) != 0o600 {
		t.Fatalf("content %q mode %o", b, mode(t, p))
	}
	if _, err := os.Stat(p + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("temporary file left behind")
	}
}
