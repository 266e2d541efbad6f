//go:build windows

package launch

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
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
	if !strings.HasPrefix(a, `\\.\pipe\clinicpro-tray-S-`) {
		t.Fatalf("DefaultAddress() = %q, want a pipe named for the user's SID", a)
	}
}
