//go:build windows

package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// DefaultAddress is this session's hand-off pipe. Named pipes are machine-wide, so
// the name carries the user's SID and the Windows session: on a Remote Desktop
// server each GP, and the same GP signed in twice, has a tray of their own. Another
// user can still create a pipe of this name first; Claim and Handoff check the
// server's process (verifyServer) before trusting it.
func DefaultAddress() string {
	var session uint32
	_ = windows.ProcessIdToSessionId(windows.GetCurrentProcessId(), &session)
	return fmt.Sprintf(`\\.\pipe\clinicpro-tray-%s-%d`, userSID(), session)
}

func userSID() string {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "unknown"
	}
	return u.User.Sid.String()
}

// lock takes a named mutex in the session's namespace. Exclusivity must not rest on
// the pipe alone: winio's first-instance check is the file system's, which Wine (and
// so our CI) does not enforce. The mutex lives as long as this process holds its
// handle, so a crashed tray never leaves a stale claim.
func lock(addr string) (func(), error) {
	// Mutex names may not contain backslashes after the namespace prefix.
	name := `Local\` + strings.ReplaceAll(strings.TrimPrefix(addr, `\\.\pipe\`), `\`, "-")
	name16, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateMutex(nil, false, name16)
	if errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		windows.CloseHandle(h)
		return nil, ErrRunning
	}
	if err != nil {
		return nil, err
	}
	return func() { windows.CloseHandle(h) }, nil
}

func listen(addr string) (net.Listener, error) {
	// Only this user (and SYSTEM) may connect: the pipe carries launch tokens.
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
