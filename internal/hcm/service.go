// Package hcm watches the practice's Azure Hybrid Connection Manager: the Windows
// service through which ALEX reaches the practice's Medtech database. When that
// service stops or its PC sleeps, the practice is offline to ALEX, so the agent polls
// the service, checks that its tunnel to Azure Relay is up, restarts it by policy,
// keeps its PC awake in clinic hours, and reports all of it as health checks.
//
// OS access sits behind ServiceMonitor and KeepAwake so the logic runs the same on
// Windows (service control manager), on Linux (a systemd unit or a process stand-in
// for the demo) and in tests (Fake).
package hcm

import (
	"context"
	"errors"
)

// DefaultServiceName is the Windows service name of the App Service Hybrid
// Connection Manager (alex.md section 6).
const DefaultServiceName = "HybridConnectionManager"

// DisplayNames are the display names HCM has been installed under; when the service
// name is not found the monitor looks for one of these, because the newer
// cross-platform HCM's service name is not documented.
var DisplayNames = []string{
	"Azure Hybrid Connection Manager Service",
	"Microsoft Azure Hybrid Connection Manager",
	"Hybrid Connection Manager",
	"Azure Hybrid Connection Manager",
}

// ServiceState is a service's state as the service control manager reports it,
// pending states included, plus NotInstalled.
type ServiceState string

const (
	NotInstalled    ServiceState = "not-installed"
	Stopped         ServiceState = "stopped"
	StartPending    ServiceState = "start-pending"
	StopPending     ServiceState = "stop-pending"
	Running         ServiceState = "running"
	ContinuePending ServiceState = "continue-pending"
	PausePending    ServiceState = "pause-pending"
	Paused          ServiceState = "paused"
	// StateUnknown means the state could not be read (for example access denied);
	// Status.Err says why.
	StateUnknown ServiceState = "unknown"
)

// String returns the state as a person reads it in a status line.
func (s ServiceState) String() string {
	switch s {
	case NotInstalled:
		return "not installed"
	case StartPending:
		return "starting"
	case StopPending:
		return "stopping"
	case ContinuePending:
		return "resuming"
	case PausePending:
		return "pausing"
	}
	return string(s)
}

// Status is one reading of a service.
type Status struct {
	// Name is the service name actually found, which differs from the configured
	// one when the service was found by its display name.
	Name        string
	DisplayName string
	State       ServiceState
	PID         int // 0 when not running
}

// ErrNotInstalled is returned by Start when no such service exists.
var ErrNotInstalled = errors.New("service is not installed")

// ServiceMonitor reads and starts one OS service. Implementations: the Windows
// service control manager (least privilege), a systemd unit via kardianos/service,
// a process stand-in for the demo, and Fake for tests.
type ServiceMonitor interface {
	// State reads the named service. A missing service is State NotInstalled with a
	// nil error; an error means the state could not be read at all.
	State(ctx context.Context, name string) (Status, error)
	// Start asks the OS to start the named service and returns without waiting for
	// it to reach Running.
	Start(ctx context.Context, name string) error
}
