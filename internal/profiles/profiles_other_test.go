//go:build !windows

package profiles

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSystemFindsThisUser: on Linux the agent's own user; on Windows (under Wine
// too) the session this test runs in, whose profile is %USERPROFILE%.
func TestSystemFindsThisUser(t *testing.T) {
	us, err := System().SignedIn()
	if err != nil {
		t.Fatal(err)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, u := range us {
		if u.SID == "" || u.Name == "" {
			t.Errorf("user without SID or name: %+v", u)
		}
		if filepath.Clean(u.Profile) == filepath.Clean(home) {
			found = true
		}
	}
	if !found {
		t.Fatalf("signed-in users %+v do not include this user (profile %s)", us, home)
	}
}
