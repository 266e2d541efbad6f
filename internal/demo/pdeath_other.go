//go:build !linux && !windows

package demo

import "syscall"

func setPdeathsig(*syscall.SysProcAttr) {}
