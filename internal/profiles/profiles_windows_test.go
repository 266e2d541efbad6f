package profiles

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

func TestPublicIsTheSharedProfile(t *testing.T) {
	p, err := System().Public()
	if err != nil {
		t.Fatal(err)
	}
	if want := os.Getenv("PUBLIC"); want != "" && !strings.EqualFold(p, want) {
		t.Fatalf("Public = %s, want %%PUBLIC%% %s", p, want)
	}
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		t.Fatalf("Public %s is not a folder: %v", p, err)
	}
}

func thisSession(t *testing.T) uint32 {
	var id uint32
	if err := windows.ProcessIdToSessionId(windows.GetCurrentProcessId(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func isThisUser(t *testing.T, u User) {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	self, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	if u.SID != self.User.Sid.String() || !strings.EqualFold(u.Profile, home) || u.Name == "" {
		t.Fatalf("user = %+v, want SID %s and profile %s", u, self.User.Sid, home)
	}
}

// TestSessionUserIsThisUser: the session this test runs in is this user's, found
// both through the session's token and through its name and ProfileList.
func TestSessionUserIsThisUser(t *testing.T) {
	id := thisSession(t)
	u, ok := sessionUser(id)
	if !ok {
		t.Fatal("no user for this session")
	}
	isThisUser(t, u)
	u, ok = byName(id)
	if !ok {
		t.Fatal("no user for this session by its user name and ProfileList")
	}
	isThisUser(t, u)
}

// TestSignedInIncludesThisUser needs Terminal Services' session list, which Wine 8
// answers empty.
func TestSignedInIncludesThisUser(t *testing.T) {
	us, err := System().SignedIn()
	if err != nil {
		t.Fatal(err)
	}
	if len(us) == 0 && os.Getenv("CLINICPRO_WINE") == "1" {
		t.Skip("Wine's WTSEnumerateSessionsW lists no sessions; sessionUser is tested on this session directly")
	}
	for _, u := range us {
		if strings.EqualFold(u.Profile, os.Getenv("USERPROFILE")) {
			isThisUser(t, u)
			return
		}
	}
	t.Fatalf("signed-in users %+v do not include this one", us)
}
