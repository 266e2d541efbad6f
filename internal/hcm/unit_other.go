//go:build !windows

package hcm

import (
	"context"
	"errors"
	"fmt"

	"github.com/kardianos/service"
)

// Unit watches any service the host's service manager knows (a systemd unit on
// Linux) through kardianos/service. It cannot tell pending states apart; on Linux
// that is acceptable because it only stands in for the Windows HCM in the demo.
type Unit struct{}

// newSystemMonitor returns the host's ServiceMonitor: a systemd unit here, the
// service control manager on Windows.
func newSystemMonitor() ServiceMonitor { return Unit{} }

func (Unit) svc(name string) (service.Service, error) {
	return service.New(noop{}, &service.Config{Name: name})
}

func (u Unit) State(_ context.Context, name string) (Status, error) {
	s, err := u.svc(name)
	if err != nil {
		return Status{Name: name, State: StateUnknown}, err
	}
	st, err := s.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return Status{Name: name, DisplayName: name, State: NotInstalled}, nil
	case err != nil:
		return Status{Name: name, State: StateUnknown}, fmt.Errorf("read service %s: %w", name, err)
	case st == service.StatusRunning:
		return Status{Name: name, DisplayName: name, State: Running}, nil
	case st == service.StatusStopped:
		return Status{Name: name, DisplayName: name, State: Stopped}, nil
	}
	return Status{Name: name, DisplayName: name, State: StateUnknown}, nil
}

func (u Unit) Start(_ context.Context, name string) error {
	s, err := u.svc(name)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("start service %s: %w", name, err)
	}
	return nil
}

// noop satisfies service.Interface; Unit only queries and starts other services.
type noop struct{}

func (noop) Start(service.Service) error { return nil }
func (noop) Stop(service.Service) error  { return nil }
