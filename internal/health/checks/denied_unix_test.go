//go:build linux

package checks

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/clinicpro/medtech-images/internal/health"
)

// TestFolderDeniedAsUnprivileged makes the permission failure real: a folder only
// its owner may read, checked by a process running as another user. As root the
// child drops to nobody; otherwise the test itself is that other user.
func TestFolderDeniedAsUnprivileged(t *testing.T) {
	base, err := os.MkdirTemp("", "checks-denied")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(base, "locked"), 0o700); os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(base, "locked")
	if err := os.Mkdir(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		os.Chmod(locked, 0o000)
		if c := Folder("scanner", locked); c.State != health.Degraded || c.Fix != FixFolderDenied {
			t.Fatalf("%+v", c)
		}
		return
	}
	// The child must be able to execute a copy of this binary.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(base, "checks.test")
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(cp, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(dst, src)
	src.Close()
	dst.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cp)
	cmd.Env = []string{"CHECKS_FOLDER_PATH=" + locked}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("cannot run a child as nobody here: %v", err)
	}
	var c health.Check
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("child said %q: %v", out, err)
	}
	if c.State != health.Degraded || c.Fix != FixFolderDenied {
		t.Fatalf("%+v", c)
	}
}
