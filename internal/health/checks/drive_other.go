//go:build !windows

package checks

import (
	"os/user"
)

// mappedDrive: drive letters are a Windows idea.
func mappedDrive(string) bool { return false }

func serviceAccount() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "this account"
}
