//go:build !windows

package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// DefaultAddress is this user's hand-off socket: in the per-user runtime directory
// when there is one, so other users on the machine cannot reach it.
func DefaultAddress() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "clinicpro-tray.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("clinicpro-tray-%d.sock", os.Getuid()))
}

// lock is a no-op here: binding the socket is itself exclusive.
func lock(string) (func(), error) { return func() {}, nil }

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, err
	}
	// The socket carries launch tokens: only this user may connect.
	if err := os.Chmod(addr, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}

// removeStale deletes a socket file nobody listens on (the tray crashed). It refuses
// anything that is not a socket so a wrong path cannot delete a user's file.
func removeStale(addr string) bool {
	fi, err := os.Lstat(addr)
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return false
	}
	rerr := os.Remove(addr)
	return rerr == nil || errors.Is(rerr, os.ErrNotExist)
}
