package hcm

// KeepAwake stops the host from sleeping while held. Hold and Release are
// idempotent. On Windows it is SetThreadExecutionState on a thread it owns; on
// other systems it does nothing, because the HCM PC is always Windows and the Linux
// build only serves the demo.
type KeepAwake interface {
	Hold() error
	Release() error
	// Close releases and frees any OS resources.
	Close() error
}

// FakeAwake records holds for tests.
type FakeAwake struct {
	Held    bool
	Holds   int
	HoldErr error
}

func (f *FakeAwake) Hold() error {
	if f.HoldErr != nil {
		return f.HoldErr
	}
	f.Held = true
	f.Holds++
	return nil
}
func (f *FakeAwake) Release() error { f.Held = false; return nil }
func (f *FakeAwake) Close() error   { return f.Release() }
