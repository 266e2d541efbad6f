//go:build !windows

package hcm

// NewKeepAwake returns the host's KeepAwake; outside Windows it does nothing.
func NewKeepAwake() (KeepAwake, error) { return nopAwake{}, nil }

type nopAwake struct{}

func (nopAwake) Hold() error    { return nil }
func (nopAwake) Release() error { return nil }
func (nopAwake) Close() error   { return nil }
