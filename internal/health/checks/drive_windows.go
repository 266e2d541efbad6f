//go:build windows

package checks

import (
	"golang.org/x/sys/windows"
)

// mappedDrive reports whether path starts with a drive letter that is a network
// drive, or one this process does not have (a letter mapped in someone's session).
func mappedDrive(path string) bool {
	if len(path) < 2 || path[1] != ':' {
		return false
	}
	root, err := windows.UTF16PtrFromString(path[:2] + `\`)
	if err != nil {
		return false
	}
	switch windows.GetDriveType(root) {
	case windows.DRIVE_REMOTE:
		return true
	}
	return false
}

// serviceAccount names who the check ran as, for its sentence.
func serviceAccount() string {
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "this account"
	}
	if u.User.Sid.IsWellKnown(windows.WinLocalSystemSid) {
		return "this PC's computer account (the agent runs as LocalSystem)"
	}
	name, domain, _, err := u.User.Sid.LookupAccount("")
	if err != nil {
		return u.User.Sid.String()
	}
	return domain + `\` + name
}
