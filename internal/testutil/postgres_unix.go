//go:build !windows

package testutil

import (
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// credential is the user the test PostgreSQL runs as: nobody when the tests run as
// root (as CI does), else the current user.
type credential struct{ uid, gid int }

func unprivileged() (*credential, error) {
	if os.Geteuid() != 0 {
		return &credential{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &credential{uid: uid, gid: gid}, nil
}

func (c *credential) own(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.Chown(path, c.uid, c.gid)
}

func (c *credential) run(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Dir = "/"
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}}
	}
	return cmd
}
