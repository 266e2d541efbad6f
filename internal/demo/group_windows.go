package demo

import (
	"os"
	"syscall"
)

// On Windows the demo is only compiled, never run (it is a Linux development tool);
// a new process group keeps Ctrl-C in the console from reaching children twice.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

func terminateGroup(pid int) error { return killGroup(pid) }

func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

func groupAlive(int) bool { return false }
