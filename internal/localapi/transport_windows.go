//go:build windows

package localapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"

	"github.com/clinicpro/medtech-images/internal/peer"
)

// PipeName is the agent's named pipe. It is fixed rather than derived from the data
// directory because only one agent service runs per PC.
const PipeName = `\\.\pipe\ClinicProAgent`

// pipeSDDL grants SYSTEM (the agent) full access and interactive users (the tray of
// whoever is signed in at the console or over Remote Desktop) read and write data,
// but not FILE_CREATE_PIPE_INSTANCE (which GENERIC_WRITE would include): 0x12019b is
// FILE_GENERIC_READ | FILE_GENERIC_WRITE without FILE_APPEND_DATA, the pipe's
// create-instance bit. No user can then add an instance beside the agent's and
// receive other users' traffic. Network logons and services running as other
// accounts get nothing; P blocks inherited entries.
const pipeSDDL = "D:P(A;;GA;;;SY)(A;;0x12019b;;;IU)"

// clientAccess is what a client asks for: read, and write data, nothing the ACL
// above withholds.
const clientAccess = windows.GENERIC_READ | windows.FILE_WRITE_DATA

// DefaultAddress is the named pipe; dataDir is ignored on Windows (see PipeName).
func DefaultAddress(dataDir string) string { return PipeName }

// Listen creates the named pipe, refusing one that already exists: a pre-existing
// instance means another process (an older agent, or a user posing as the agent
// before the delayed-start service came up) holds the name. Kept thin on purpose:
// everything above it is plain net.Listener and tested over unix sockets and TCP.
func Listen(address string) (net.Listener, error) {
	if pid, held := pipeHolder(address); held {
		who := "a process this account may not inspect"
		if pid != 0 {
			who = fmt.Sprintf("process %d", pid)
		}
		return nil, fmt.Errorf("%w: %s already serves %s. Stop it (an older ClinicPro agent?) and start the service again; if it is not ClinicPro, it may be posing as the agent", ErrPipeTaken, who, address)
	}
	l, err := winio.ListenPipe(address, &winio.PipeConfig{
		SecurityDescriptor: pipeSDDL,
		InputBufferSize:    64 << 10,
		OutputBufferSize:   64 << 10,
	})
	if err != nil {
		// winio creates the first instance with FILE_CREATE: someone created the
		// name between our check and here.
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_ALREADY_EXISTS) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, fmt.Errorf("%w: %s: %v", ErrPipeTaken, address, err)
		}
		return nil, err
	}
	return l, nil
}

// pipeHolder reports whether a pipe of that name exists and, when it can tell, the
// process serving it.
func pipeHolder(address string) (pid uint32, held bool) {
	name, err := windows.UTF16PtrFromString(address)
	if err != nil {
		return 0, false
	}
	h, err := windows.CreateFile(name, windows.FILE_READ_ATTRIBUTES, 0, nil, windows.OPEN_EXISTING, 0, 0)
	switch {
	case err == nil:
		defer windows.CloseHandle(h)
		_ = windows.GetNamedPipeServerProcessId(h, &pid)
		return pid, true
	case errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND):
		return 0, false
	default:
		// Busy (every instance connected) or denied: it exists all the same.
		return 0, true
	}
}

// Dialer connects to the agent's named pipe and, for the agent's own pipe, checks
// that the process serving it is the ClinicPro Agent service before a byte is sent.
func Dialer(address string) DialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		c, err := winio.DialPipeAccess(ctx, address, clientAccess)
		if err != nil || address != PipeName {
			return c, err
		}
		if err := verifyAgent(c); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
}

func verifyAgent(c net.Conn) error {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return fmt.Errorf("%w: cannot inspect the pipe", ErrImpostor)
	}
	pid, err := peer.PipeOtherEnd(windows.Handle(f.Fd()))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrImpostor, err)
	}
	svc, err := serviceProcess(AgentServiceName)
	if err != nil {
		return fmt.Errorf("asking Windows about the ClinicPro Agent service: %w", err)
	}
	return checkAgentServer(pid, svc)
}

// serviceProcess asks the service manager, with the least rights a standard user
// has, whether a service exists and which process runs it.
func serviceProcess(service string) (ServiceProcess, error) {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return ServiceProcess{}, err
	}
	defer windows.CloseServiceHandle(m)
	name, _ := windows.UTF16PtrFromString(service)
	s, err := windows.OpenService(m, name, windows.SERVICE_QUERY_STATUS)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return ServiceProcess{}, nil
	}
	if err != nil {
		return ServiceProcess{}, err
	}
	defer windows.CloseServiceHandle(s)
	var st windows.SERVICE_STATUS_PROCESS
	var need uint32
	if err := windows.QueryServiceStatusEx(s, windows.SC_STATUS_PROCESS_INFO, (*byte)(unsafe.Pointer(&st)), uint32(unsafe.Sizeof(st)), &need); err != nil {
		return ServiceProcess{}, err
	}
	return ServiceProcess{Installed: true, PID: st.ProcessId}, nil
}
