//go:build !windows

package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

func sockAddr(t testing.TB) string {
	t.Helper()
	// Unix socket paths are limited to ~100 bytes; t.TempDir can be longer.
	d, err := os.MkdirTemp("", "lt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, "tray.sock")
}

func TestStaleSocketIsTakenOver(t *testing.T) {
	addr := sockAddr(t)
	// A crashed tray leaves its socket file behind with nobody listening.
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(addr); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	in := claim(t, addr)
	if err := Handoff(context.Background(), addr, "clinicpro://launch?context=c&signature=s"); err != nil {
		t.Fatal(err)
	}
	receive(t, in)
}

func TestRegularFileIsNotDeleted(t *testing.T) {
	addr := sockAddr(t)
	if err := os.WriteFile(addr, []byte("a user's file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Claim(addr); err == nil {
		t.Fatal("claimed over a regular file")
	}
	if b, err := os.ReadFile(addr); err != nil || string(b) != "a user's file" {
		t.Fatalf("file changed: %q %v", b, err)
	}
}

func TestSocketIsPrivate(t *testing.T) {
	addr := sockAddr(t)
	claim(t, addr)
	fi, err := os.Stat(addr)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("socket mode %v lets other users hand over launches", fi.Mode().Perm())
	}
}

// squatter listens on addr as another user would, printing what it is handed.
func squatter(addr string) int {
	ln, err := listen(addr)
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	os.Chmod(addr, 0o666)
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			return 0
		}
		// Claim and Handoff connect to learn who listens, then hang up
		// without a word: only a line sent is a launch handed over. One that
		// is sent is printed before the "ok" a handoff waits for, so it is in
		// the output by the time Handoff returns.
		line, _ := readLine(c)
		if line != "" {
			fmt.Println("got:", line)
		}
		fmt.Fprintln(c, "ok")
		c.Close()
	}
}

// TestAnotherUsersListenerIsNotTrusted: another local user creates the hand-off
// socket first. The tray must neither take it for its own running instance nor hand
// it a launch.
func TestAnotherUsersListenerIsNotTrusted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a listener as another user; the check itself is peer.Same")
	}
	d, err := os.MkdirTemp("", "lt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(d)
	os.Chmod(d, 0o777)
	addr := filepath.Join(d, "tray.sock")
	// The other user cannot reach the build cache: run a copy of this test binary.
	self, _ := os.ReadFile(os.Args[0])
	exe := filepath.Join(d, "squatter")
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "LAUNCH_TEST_SQUAT="+addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4242, Gid: 4242}}
	var out testutil.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	testutil.WaitFor(t, "the other user's listener", time.Minute, 20*time.Millisecond, func() bool { return strings.Contains(out.String(), "listening") })

	if _, err := Claim(addr); !errors.Is(err, ErrImpostor) {
		t.Fatalf("Claim over another user's listener: err = %v, want ErrImpostor", err)
	}
	if err := Handoff(context.Background(), addr, "clinicpro://launch?context=c&signature=s"); !errors.Is(err, ErrImpostor) {
		t.Fatalf("Handoff to another user's listener: err = %v, want ErrImpostor", err)
	}
	if strings.Contains(out.String(), "got:") {
		t.Fatalf("the other user's listener received a launch:\n%s", out.String())
	}
}
