package hcm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v3/process"
)

// StandIn is a ServiceMonitor for a "service" that is just a process recorded in a
// pid file: the demo and the Linux tests use it to play HCM without systemd or admin
// rights. It is installed when Command is set; running while the pid file names a
// live process.
type StandIn struct {
	// ServiceName is the only name this stand-in answers to.
	ServiceName string
	PIDFile     string
	// Command starts the process; its first element is the program.
	Command []string

	mu sync.Mutex
}

func (s *StandIn) State(ctx context.Context, name string) (Status, error) {
	st := Status{Name: name, DisplayName: name, State: NotInstalled}
	if name != s.ServiceName || len(s.Command) == 0 {
		return st, nil
	}
	st.State = Stopped
	pid, err := s.readPID()
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return Status{Name: name, State: StateUnknown}, err
	}
	if alive(ctx, pid) {
		st.State, st.PID = Running, pid
	}
	return st, nil
}

func (s *StandIn) Start(ctx context.Context, name string) error {
	if name != s.ServiceName || len(s.Command) == 0 {
		return ErrNotInstalled
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if pid, err := s.readPID(); err == nil && alive(ctx, pid) {
		return nil
	}
	cmd := exec.Command(s.Command[0], s.Command[1:]...)
	// The stand-in must outlive the request that started it, like a real service,
	// so it is not tied to ctx.
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start stand-in service %s: %w", name, err)
	}
	// Reap it when it exits so a stopped stand-in does not linger as a zombie that
	// still looks alive.
	go func() { _ = cmd.Wait() }()
	if err := os.MkdirAll(filepath.Dir(s.PIDFile), 0o755); err != nil {
		return err
	}
	return os.WriteFile(s.PIDFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
}

// Stop kills the stand-in's process, as an operator stopping the service would. The
// demo and tests use it; the monitor itself never stops services.
func (s *StandIn) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pid, err := s.readPID()
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if p, err := os.FindProcess(pid); err == nil && alive(ctx, pid) {
		if err := p.Kill(); err != nil {
			return fmt.Errorf("stop stand-in service: %w", err)
		}
	}
	return os.Remove(s.PIDFile)
}

func (s *StandIn) readPID() (int, error) {
	b, err := os.ReadFile(s.PIDFile)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s does not hold a process id", s.PIDFile)
	}
	return pid, nil
}

// alive reports whether pid is a live process; a zombie (exited, not yet reaped)
// counts as dead because the service it stood for has stopped.
func alive(ctx context.Context, pid int) bool {
	ok, err := process.PidExistsWithContext(ctx, int32(pid))
	if err != nil || !ok {
		return false
	}
	p, err := process.NewProcessWithContext(ctx, int32(pid))
	if err != nil {
		return false
	}
	st, err := p.StatusWithContext(ctx)
	if err != nil {
		return true
	}
	for _, s := range st {
		if s == process.Zombie {
			return false
		}
	}
	return true
}

// RunStandIn is the body of a stand-in HCM process for the demo: it holds a TCP
// connection to relayAddr, as HCM holds one to Azure Relay, and redials when it
// drops, until ctx ends. Point Config.TunnelPort at relayAddr's port to watch it.
func RunStandIn(ctx context.Context, relayAddr string) error {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", relayAddr)
		if err == nil {
			// Block until the peer closes or ctx ends.
			go func() { <-ctx.Done(); conn.Close() }()
			_, _ = io.Copy(io.Discard, conn)
			conn.Close()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
