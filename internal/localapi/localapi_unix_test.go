//go:build !windows

package localapi_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

func TestListenSocket(t *testing.T) {
	addr := localapi.DefaultAddress(shortDir(t))
	l, err := localapi.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(addr)
	if err != nil || fi.Mode().Perm() != localapi.SocketMode {
		t.Fatalf("socket mode = %v, %v; want %o", fi.Mode().Perm(), err, localapi.SocketMode)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := localapi.Listen(addr); err == nil || !strings.Contains(err.Error(), "already listening") {
		t.Fatalf("second agent: err = %v, want already listening", err)
	}
	// A crashed agent leaves its socket file behind; a new one takes over.
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	ul.Close()
	if _, err := os.Stat(addr); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	l2, err := localapi.Listen(addr)
	if err != nil {
		t.Fatalf("replacing a stale socket: %v", err)
	}
	l2.Close()

	plain := filepath.Join(filepath.Dir(addr), "plain")
	os.WriteFile(plain, []byte("x"), 0o600)
	if _, err := localapi.Listen(plain); err == nil {
		t.Fatal("Listen replaced a regular file")
	}
}
