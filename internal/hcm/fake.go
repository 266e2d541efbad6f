package hcm

import (
	"context"
	"sync"
)

// Fake is an in-memory ServiceMonitor for tests of code that watches services. Start
// moves a stopped service to StartResult (Running unless set) and counts the call.
type Fake struct {
	mu       sync.Mutex
	services map[string]Status
	starts   map[string]int
	// StartResult is the state Start leaves a service in; Running when empty.
	StartResult ServiceState
	// StartErr, when set, is returned by Start and the state is left alone.
	StartErr error
	// StateErr, when set, is returned by State.
	StateErr error
}

// NewFake returns a Fake with no services installed.
func NewFake() *Fake {
	return &Fake{services: map[string]Status{}, starts: map[string]int{}}
}

// Set installs or changes a service.
func (f *Fake) Set(name string, state ServiceState, pid int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.services[name]
	st.Name, st.State, st.PID = name, state, pid
	if st.DisplayName == "" {
		st.DisplayName = name
	}
	f.services[name] = st
}

// Starts reports how many times Start was called for name.
func (f *Fake) Starts(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts[name]
}

func (f *Fake) State(_ context.Context, name string) (Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.StateErr != nil {
		return Status{Name: name, State: StateUnknown}, f.StateErr
	}
	st, ok := f.services[name]
	if !ok {
		return Status{Name: name, State: NotInstalled}, nil
	}
	return st, nil
}

func (f *Fake) Start(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts[name]++
	if f.StartErr != nil {
		return f.StartErr
	}
	st, ok := f.services[name]
	if !ok {
		return ErrNotInstalled
	}
	st.State = f.StartResult
	if st.State == "" {
		st.State = Running
	}
	if st.State == Running && st.PID == 0 {
		st.PID = 4242
	}
	f.services[name] = st
	return nil
}
