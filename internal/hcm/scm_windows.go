//go:build windows

package hcm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// SCM reads services through the Windows service control manager with the least
// rights that work for a standard user: SC_MANAGER_CONNECT on the manager and
// SERVICE_QUERY_STATUS|SERVICE_QUERY_CONFIG on the service. kardianos/service and
// gopsutil ask for more than a standard user has and fold pending states into
// "stopped". Finding a service by display name additionally needs
// SC_MANAGER_ENUMERATE_SERVICE, which Authenticated Users hold by default. Start
// needs SERVICE_START on the service, which only the agent (LocalSystem) has.
type SCM struct{}

// newSystemMonitor returns the host's ServiceMonitor: the service control manager.
func newSystemMonitor() ServiceMonitor { return SCM{} }

func (SCM) State(_ context.Context, name string) (Status, error) {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return Status{Name: name, State: StateUnknown}, fmt.Errorf("connect to the service manager: %w", err)
	}
	defer windows.CloseServiceHandle(m)
	st, err := query(m, name)
	if err == nil || !errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return st, err
	}
	found, ferr := findByDisplayName(name)
	if ferr != nil || found == "" {
		// Not being allowed to enumerate must not hide the plain answer.
		return Status{Name: name, State: NotInstalled}, nil
	}
	return query(m, found)
}

func query(m windows.Handle, name string) (Status, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return Status{Name: name, State: StateUnknown}, err
	}
	h, err := windows.OpenService(m, p, windows.SERVICE_QUERY_STATUS|windows.SERVICE_QUERY_CONFIG)
	if err != nil {
		return Status{Name: name, State: StateUnknown}, fmt.Errorf("open service %s: %w", name, err)
	}
	defer windows.CloseServiceHandle(h)
	var ssp windows.SERVICE_STATUS_PROCESS
	var need uint32
	if err := windows.QueryServiceStatusEx(h, windows.SC_STATUS_PROCESS_INFO, (*byte)(unsafe.Pointer(&ssp)), uint32(unsafe.Sizeof(ssp)), &need); err != nil {
		return Status{Name: name, State: StateUnknown}, fmt.Errorf("query service %s: %w", name, err)
	}
	return Status{Name: name, DisplayName: displayName(h, name), State: fromWin(ssp.CurrentState), PID: int(ssp.ProcessId)}, nil
}

// displayName reads the service's display name from its configuration (the reason
// SERVICE_QUERY_CONFIG is requested); it falls back to the service name.
func displayName(h windows.Handle, name string) string {
	var need uint32
	err := windows.QueryServiceConfig(h, nil, 0, &need)
	if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || need == 0 {
		return name
	}
	buf := make([]byte, need)
	cfg := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	if err := windows.QueryServiceConfig(h, cfg, need, &need); err != nil || cfg.DisplayName == nil {
		return name
	}
	return windows.UTF16PtrToString(cfg.DisplayName)
}

func fromWin(s uint32) ServiceState {
	switch s {
	case windows.SERVICE_STOPPED:
		return Stopped
	case windows.SERVICE_START_PENDING:
		return StartPending
	case windows.SERVICE_STOP_PENDING:
		return StopPending
	case windows.SERVICE_RUNNING:
		return Running
	case windows.SERVICE_CONTINUE_PENDING:
		return ContinuePending
	case windows.SERVICE_PAUSE_PENDING:
		return PausePending
	case windows.SERVICE_PAUSED:
		return Paused
	}
	return StateUnknown
}

// findByDisplayName returns the service name of the first installed service whose
// display name is one of DisplayNames (or equals want), "" when none is.
func findByDisplayName(want string) (string, error) {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT|windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err != nil {
		return "", err
	}
	defer windows.CloseServiceHandle(m)
	var need, count, resume uint32
	var buf []byte
	size := uint32(64 << 10)
	for {
		buf = make([]byte, size)
		err = windows.EnumServicesStatusEx(m, windows.SC_ENUM_PROCESS_INFO, windows.SERVICE_WIN32, windows.SERVICE_STATE_ALL,
			&buf[0], size, &need, &count, &resume, nil)
		if err == nil {
			break
		}
		if !errors.Is(err, windows.ERROR_MORE_DATA) || need <= size {
			return "", err
		}
		size, resume = need, 0
	}
	if count == 0 {
		return "", nil
	}
	entries := unsafe.Slice((*windows.ENUM_SERVICE_STATUS_PROCESS)(unsafe.Pointer(&buf[0])), count)
	names := map[string]string{}
	for _, e := range entries {
		names[strings.ToLower(windows.UTF16PtrToString(e.DisplayName))] = windows.UTF16PtrToString(e.ServiceName)
	}
	for _, d := range append([]string{want}, DisplayNames...) {
		if n, ok := names[strings.ToLower(d)]; ok {
			return n, nil
		}
	}
	return "", nil
}

func (SCM) Start(_ context.Context, name string) error {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return fmt.Errorf("connect to the service manager: %w", err)
	}
	defer windows.CloseServiceHandle(m)
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return err
	}
	h, err := windows.OpenService(m, p, windows.SERVICE_START|windows.SERVICE_QUERY_STATUS)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		if found, ferr := findByDisplayName(name); ferr == nil && found != "" {
			if p, err = windows.UTF16PtrFromString(found); err != nil {
				return err
			}
			h, err = windows.OpenService(m, p, windows.SERVICE_START|windows.SERVICE_QUERY_STATUS)
		} else {
			return ErrNotInstalled
		}
	}
	if err != nil {
		return fmt.Errorf("open service %s to start it: %w", name, err)
	}
	defer windows.CloseServiceHandle(h)
	if err := windows.StartService(h, 0, nil); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
		return fmt.Errorf("start service %s: %w", name, err)
	}
	return nil
}
