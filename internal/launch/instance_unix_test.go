//go:build !windows

package launch

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
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
