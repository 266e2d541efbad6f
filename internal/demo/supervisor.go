// Package demo runs the whole product on loopback for `make demo` and the end-to-end
// test: a small supervisor that starts the real binaries as child processes, waits
// until each answers, writes their output to log files, and stops every process it
// started (and their children) when asked; plus the scenario that wires alexsim, the
// relay, the agent, a stand-in HCM and the tray together. It is a development tool:
// nothing here is shipped in the MSI.
package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Spec describes one child process.
type Spec struct {
	Name string   // short, unique: names the log file
	Path string   // program
	Args []string // arguments after the program
	Env  []string // added to the supervisor's own environment
	Dir  string   // working directory; "" is the supervisor's
}

// Proc is a started child. Its process group holds it and anything it starts.
type Proc struct {
	Spec Spec
	Log  string // path of the file holding its stdout and stderr

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Done is closed when the child has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the child's exit error, valid after Done is closed.
func (p *Proc) Err() error { <-p.done; return p.err }

// Pid is the child's process id, which is also its process group id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Supervisor starts children and stops them all, most recent first, so the agent
// stops before the relay it talks to and the relay before alexsim.
type Supervisor struct {
	// LogDir receives one <name>.log per child.
	LogDir string
	// Grace is how long a child's group has after SIGTERM before SIGKILL; 10 s when zero.
	Grace time.Duration

	mu     sync.Mutex
	procs  []*Proc
	closed bool
}

// ErrStopped is returned by Start once Stop has begun.
var ErrStopped = errors.New("the supervisor is stopping")

// Start starts s in its own process group with its output appended to LogDir/<name>.log.
func (sv *Supervisor) Start(s Spec) (*Proc, error) {
	if err := os.MkdirAll(sv.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the log folder: %w", err)
	}
	logPath := filepath.Join(sv.LogDir, s.Name+".log")
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open the log for %s: %w", s.Name, err)
	}
	defer f.Close() // the child holds its own copy of the descriptor
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = groupAttr()

	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.closed {
		return nil, ErrStopped
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", s.Name, err)
	}
	p := &Proc{Spec: s, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	sv.procs = append(sv.procs, p)
	return p, nil
}

// Run starts s and waits for it to exit, for one-shot commands (connector add,
// enrol). Their output is returned as well as logged, because callers read it.
func (sv *Supervisor) Run(ctx context.Context, s Spec) ([]byte, error) {
	p, err := sv.Start(s)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		sv.stop(p)
		return nil, ctx.Err()
	}
	out, _ := os.ReadFile(p.Log)
	if p.err != nil {
		return out, fmt.Errorf("%s failed (%v); its output is in %s", s.Name, p.err, p.Log)
	}
	return out, nil
}

// Stop stops every child's process group, newest first, and refuses later Starts.
// It returns once every child has been reaped.
func (sv *Supervisor) Stop() {
	sv.mu.Lock()
	sv.closed = true
	procs := append([]*Proc(nil), sv.procs...)
	sv.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		sv.stop(procs[i])
	}
}

// stop sends SIGTERM to the child's whole group, then SIGKILL after the grace
// period; the group is killed even when the leader exited by itself, because a
// grandchild may still hold the group (and a port) open.
func (sv *Supervisor) stop(p *Proc) {
	grace := sv.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	pid := p.cmd.Process.Pid
	_ = terminateGroup(pid)
	deadline := time.Now().Add(grace)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
	}
	// The leader is gone; its children get the rest of the grace period.
	for groupAlive(pid) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// Whatever is left of the group, the leader included, ends now.
	_ = killGroup(pid)
	<-p.done
}

// Procs returns the children started so far.
func (sv *Supervisor) Procs() []*Proc {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return append([]*Proc(nil), sv.procs...)
}
