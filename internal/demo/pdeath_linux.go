package demo

import "syscall"

// setPdeathsig asks the kernel to kill the child when the supervisor dies, even by
// SIGKILL, so an interrupted `make demo` leaves no server holding its port.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
