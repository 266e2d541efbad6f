//go:build !windows

package profiles

import (
	"errors"
	"os"
	"os/user"
	"strconv"
)

// System is the running process's user: on Linux (development and the demo) the
// agent runs as the person trying it, whose home is the one profile.
func System() Source { return self{} }

type self struct{}

func (self) SignedIn() ([]User, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, err
	}
	name := strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return merge([]User{{SID: "uid:" + strconv.Itoa(os.Getuid()), Name: name, Profile: home, Sessions: []uint32{0}}}), nil
}

// Public is $PUBLIC when set: Unix has no shared profile folder.
func (self) Public() (string, error) {
	if p := os.Getenv("PUBLIC"); p != "" {
		return p, nil
	}
	return "", errors.New("this system has no public profile folder: set PUBLIC, or give the folder's full path")
}
