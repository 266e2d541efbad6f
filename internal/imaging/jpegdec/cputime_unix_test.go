//go:build unix

package jpegdec

import "syscall"

// cpuTime is the process's user and system time in nanoseconds.
func cpuTime() int64 {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return r.Utime.Nano() + r.Stime.Nano()
}
