//go:build windows

package launch

import (
	"context"
	"net"
	"strings"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// DefaultAddress is this user's hand-off pipe. Named pipes are machine-wide, so the
// name carries the user's SID to keep users on a shared practice PC apart.
func DefaultAddress() string {
	return `\\.\pipe\clinicpro-tray-` + userSID()
}

func userSID() string {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "unknown"
	}
	return u.User.Sid.String()
}

func listen(addr string) (net.Listener, error) {
	// Only this user (and SYSTEM) may connect: the pipe carries launch tokens. winio
	// creates the first pipe instance exclusively, so a second tray fails here.
	sid := userSID()
	sd := "D:P(A;;GA;;;SY)"
	if strings.HasPrefix(sid, "S-") {
		sd += "(A;;GA;;;" + sid + ")"
	}
	return winio.ListenPipe(addr, &winio.PipeConfig{SecurityDescriptor: sd})
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, addr)
}

// removeStale: a named pipe vanishes with its process, so there is never a stale one.
func removeStale(string) bool { return false }
