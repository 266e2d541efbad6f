//go:build windows

package localapi

import (
	"context"
	"net"

	"github.com/Microsoft/go-winio"
)

// PipeName is the agent's named pipe. It is fixed rather than derived from the data
// directory because only one agent service runs per PC.
const PipeName = `\\.\pipe\ClinicProAgent`

// pipeSDDL grants SYSTEM (the agent) full access and interactive users (the tray of
// whoever is logged on at the console or over RDP) read/write; network logons and
// services running as other accounts get nothing. P blocks inherited entries.
const pipeSDDL = "D:P(A;;GA;;;SY)(A;;GRGW;;;IU)"

// DefaultAddress is the named pipe; dataDir is ignored on Windows (see PipeName).
func DefaultAddress(dataDir string) string { return PipeName }

// Listen opens the named pipe. Kept thin on purpose: everything above it is plain
// net.Listener and tested over unix sockets and TCP.
func Listen(address string) (net.Listener, error) {
	return winio.ListenPipe(address, &winio.PipeConfig{
		SecurityDescriptor: pipeSDDL,
		InputBufferSize:    64 << 10,
		OutputBufferSize:   64 << 10,
	})
}

// Dialer connects to the agent's named pipe.
func Dialer(address string) DialFunc {
	return func(ctx context.Context) (net.Conn, error) { return winio.DialPipeContext(ctx, address) }
}
