//go:build windows

package launch

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// sockAddr is a fresh pipe per test: pipe names are machine-wide.
func sockAddr(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	return `\\.\pipe\clinicpro-tray-test-` + hex.EncodeToString(b)
}

func TestDefaultAddressIsPerUser(t *testing.T) {
	a := DefaultAddress()
	var session uint32
	windows.ProcessIdToSessionId(windows.GetCurrentProcessId(), &session)
	if !strings.HasPrefix(a, `\\.\pipe\clinicpro-tray-S-`) || !strings.HasSuffix(a, fmt.Sprintf("-%d", session)) {
		t.Fatalf("DefaultAddress() = %q, want a pipe named for the user's SID and session %d", a, session)
	}
}

// squatter is the Unix test's other-user listener; Windows tests cannot switch users.
func squatter(string) int { return 1 }
