//go:build !windows

package localapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// SocketName is the unix socket's file name inside the data directory.
const SocketName = "agent.sock"

// DefaultAddress is where the agent listens: a unix socket in the data directory, so
// `--data DIR` gives each test or developer agent its own socket.
func DefaultAddress(dataDir string) string { return filepath.Join(dataDir, SocketName) }

// SocketMode is 0660, not 0666. In its default place, inside the data folder, the
// folder's own 0700 (internal/datadir) already keeps the socket to the agent's
// account; the mode matters when --listen puts the socket elsewhere, where the owner
// and that folder's group may connect.
const SocketMode = 0o660

// Listen opens the agent's socket. A socket left behind by a crashed agent is
// replaced; one that still answers means another agent is running, which is an error.
func Listen(address string) (net.Listener, error) {
	if fi, err := os.Lstat(address); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; move it away and start the agent again", address)
		}
		c, err := net.DialTimeout("unix", address, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("another ClinicPro agent is already listening on %s; stop it first", address)
		}
		if err := os.Remove(address); err != nil {
			return nil, fmt.Errorf("removing the stale socket %s: %w", address, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(address), 0o755); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", address)
	if err != nil {
		return nil, fmt.Errorf("the agent could not listen on %s: %w", address, err)
	}
	if err := os.Chmod(address, SocketMode); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Dialer connects to the agent's socket.
func Dialer(address string) DialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", address)
		if err != nil && errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no agent socket at %s: %w", address, err)
		}
		return c, err
	}
}
