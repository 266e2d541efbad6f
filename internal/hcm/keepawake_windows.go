//go:build windows

package hcm

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/windows"
)

const (
	esSystemRequired = 0x00000001
	esContinuous     = 0x80000000
)

var procSetThreadExecutionState = windows.NewLazySystemDLL("kernel32.dll").NewProc("SetThreadExecutionState")

// threadAwake owns one locked OS thread: SetThreadExecutionState applies to the
// calling thread and lapses when that thread exits, so every call must come from
// the same thread, which lives as long as the KeepAwake.
type threadAwake struct {
	req  chan uint32
	resp chan error
}

// NewKeepAwake returns the host's KeepAwake: SetThreadExecutionState on a
// dedicated thread.
func NewKeepAwake() (KeepAwake, error) {
	if err := procSetThreadExecutionState.Find(); err != nil {
		return nil, fmt.Errorf("keep-awake is not available on this Windows: %w", err)
	}
	t := &threadAwake{req: make(chan uint32), resp: make(chan error)}
	go t.loop()
	return t, nil
}

func (t *threadAwake) loop() {
	runtime.LockOSThread()
	// Never unlocked: the goroutine exits with the thread, which drops the state.
	for flags := range t.req {
		r, _, err := procSetThreadExecutionState.Call(uintptr(flags))
		if r == 0 {
			t.resp <- fmt.Errorf("SetThreadExecutionState: %w", err)
			continue
		}
		t.resp <- nil
	}
}

func (t *threadAwake) call(flags uint32) error {
	t.req <- flags
	return <-t.resp
}

func (t *threadAwake) Hold() error    { return t.call(esContinuous | esSystemRequired) }
func (t *threadAwake) Release() error { return t.call(esContinuous) }
func (t *threadAwake) Close() error {
	err := t.Release()
	close(t.req)
	return err
}
