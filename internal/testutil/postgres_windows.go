package testutil

import (
	"errors"
	"os/exec"
)

type credential struct{}

func unprivileged() (*credential, error) {
	return nil, errors.New("the test PostgreSQL runs on Linux only")
}
func (c *credential) own(string) error                          { return nil }
func (c *credential) run(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }
