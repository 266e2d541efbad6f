//go:build !windows

package demo

import "syscall"

// groupAttr puts the child in a new process group led by itself, so one signal
// reaches everything it starts; on Linux the child is also killed if the
// supervisor dies without stopping it (see pdeath_linux.go).
func groupAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(a)
	return a
}

func terminateGroup(pgid int) error { return syscall.Kill(-pgid, syscall.SIGTERM) }

func killGroup(pgid int) error { return syscall.Kill(-pgid, syscall.SIGKILL) }

// groupAlive reports whether any process is left in the group. Signal 0 checks
// without delivering anything; a group of zombies still answers, so callers also
// bound their wait.
func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }
