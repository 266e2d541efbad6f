package profiles

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// System lists the users of the sessions Windows Terminal Services knows: the
// console and every Remote Desktop sign-in, connected or not (a disconnected GP's
// phone may still sync into their Camera Roll).
func System() Source { return wts{} }

type wts struct{}

var (
	wtsapi                     = windows.NewLazySystemDLL("wtsapi32.dll")
	wtsQuerySessionInformation = wtsapi.NewProc("WTSQuerySessionInformationW")
)

// WTS_INFO_CLASS values (wtsapi32.h).
const (
	wtsUserName   = 5
	wtsDomainName = 7
)

const wtsDisconnected = 4

func (wts) SignedIn() ([]User, error) {
	var info *windows.WTS_SESSION_INFO
	var n uint32
	if err := windows.WTSEnumerateSessions(0, 0, 1, &info, &n); err != nil {
		return nil, fmt.Errorf("listing the Windows sessions: %w", err)
	}
	defer windows.WTSFreeMemory(uintptr(unsafe.Pointer(info)))
	sessions := unsafe.Slice(info, n)
	var out []User
	for _, s := range sessions {
		if s.State != windows.WTSActive && s.State != wtsDisconnected {
			continue
		}
		if u, ok := sessionUser(s.SessionID); ok {
			out = append(out, u)
		}
	}
	return merge(out), nil
}

// sessionUser finds a session's user. The user's own token (LocalSystem may ask
// for it) gives the SID and the loaded profile; without that privilege (a test run
// as a plain user) the session's user name is looked up and its profile read from
// the registry's ProfileList, where Windows records every profile folder.
func sessionUser(id uint32) (User, bool) {
	var tok windows.Token
	if windows.WTSQueryUserToken(id, &tok) == nil {
		defer tok.Close()
		if tu, err := tok.GetTokenUser(); err == nil {
			sid := tu.User.Sid.String()
			prof, err := tok.GetUserProfileDirectory()
			if err != nil || prof == "" {
				prof, _ = profileOf(sid)
			}
			name, _, _, _ := tu.User.Sid.LookupAccount("")
			return User{SID: sid, Name: name, Profile: prof, Sessions: []uint32{id}}, prof != ""
		}
	}
	return byName(id)
}

// byName finds a session's user from its user and domain names: the route that
// needs no privilege.
func byName(id uint32) (User, bool) {
	name := sessionString(id, wtsUserName)
	if name == "" {
		return User{}, false // the services session, or a sign-in screen
	}
	account := name
	if dom := sessionString(id, wtsDomainName); dom != "" {
		account = dom + `\` + name
	}
	sid, _, _, err := windows.LookupSID("", account)
	if err != nil {
		return User{}, false
	}
	prof, err := profileOf(sid.String())
	if err != nil {
		return User{}, false
	}
	return User{SID: sid.String(), Name: name, Profile: prof, Sessions: []uint32{id}}, true
}

func sessionString(id uint32, class uint32) string {
	var buf *uint16
	var n uint32
	r, _, _ := wtsQuerySessionInformation.Call(0, uintptr(id), uintptr(class), uintptr(unsafe.Pointer(&buf)), uintptr(unsafe.Pointer(&n)))
	if r == 0 || buf == nil {
		return ""
	}
	defer windows.WTSFreeMemory(uintptr(unsafe.Pointer(buf)))
	return windows.UTF16PtrToString(buf)
}

const profileList = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList`

// profileOf reads a user's profile folder from ProfileList.
func profileOf(sid string) (string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, profileList+`\`+sid, registry.QUERY_VALUE)
	if err != nil {
		return "", fmt.Errorf("no profile is recorded for %s: %w", sid, err)
	}
	defer k.Close()
	p, _, err := k.GetStringValue("ProfileImagePath")
	if err != nil {
		return "", err
	}
	if x, err := registry.ExpandString(p); err == nil {
		p = x
	}
	return p, nil
}

// Public is the Public known folder (C:\Users\Public unless moved).
func (wts) Public() (string, error) {
	if p, err := windows.KnownFolderPath(windows.FOLDERID_Public, 0); err == nil && p != "" {
		return p, nil
	}
	if p := os.Getenv("PUBLIC"); p != "" {
		return p, nil
	}
	return "", errors.New("Windows did not say where the Public folder is")
}
