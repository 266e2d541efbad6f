//go:build !windows

package demo

import (
	"github.com/clinicpro/medtech-images/internal/testutil/browser"

	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

// The test binary doubles as the children the supervisor tests start: with
// DEMO_HELPER set it plays that role instead of running tests.
func helperMain() bool {
	mode := os.Getenv("DEMO_HELPER")
	if mode == "" {
		return false
	}
	switch mode {
	case "stubborn", "stubborn-leaf":
		// Ignores SIGTERM, as a hung server would; the root also starts a leaf that
		// ignores it too, so only a group kill reaches both.
		signal.Ignore(syscall.SIGTERM)
		if mode == "stubborn" {
			c := exec.Command(os.Args[0])
			c.Env = append(os.Environ(), "DEMO_HELPER=stubborn-leaf")
			if err := c.Start(); err != nil {
				os.Exit(5)
			}
			pids := fmt.Sprintf("%d %d\n", os.Getpid(), c.Process.Pid)
			os.WriteFile(os.Getenv("DEMO_PIDS")+".tmp", []byte(pids), 0o644)
			os.Rename(os.Getenv("DEMO_PIDS")+".tmp", os.Getenv("DEMO_PIDS"))
		}
		select {}
	case "polite":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		fmt.Println("waiting")
		<-ch
		fmt.Println("bye")
		os.Exit(0)
	case "sleep":
		select {}
	case "fail":
		fmt.Fprintln(os.Stderr, "boom: port already in use")
		os.Exit(3)
	case "echo":
		fmt.Println("Enrolment code: ABCDE-12345")
		os.Exit(0)
	case "serve":
		l, err := net.Listen("tcp", os.Getenv("DEMO_ADDR"))
		if err != nil {
			os.Exit(4)
		}
		http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	case "supervisor":
		// A supervisor that is itself killed: its children must not outlive it.
		sv := &Supervisor{LogDir: os.Getenv("DEMO_LOGS")}
		p, err := sv.Start(Spec{Name: "orphan", Path: os.Args[0], Env: []string{"DEMO_HELPER=sleep"}})
		if err != nil {
			os.Exit(6)
		}
		// Written beside it and renamed in, as the stubborn helper does: the
		// test reads the file as soon as it exists, and must not find it empty.
		os.WriteFile(os.Getenv("DEMO_PIDS")+".tmp", []byte(strconv.Itoa(p.Pid())), 0o644)
		os.Rename(os.Getenv("DEMO_PIDS")+".tmp", os.Getenv("DEMO_PIDS"))
		select {}
	}
	os.Exit(2)
	return true
}

func TestMain(m *testing.M) {
	if helperMain() {
		return
	}
	code := m.Run()
	browser.Stop()
	cleanupBinaries()
	os.Exit(code)
}

func helper(name, mode string, env ...string) Spec {
	return Spec{Name: name, Path: os.Args[0], Env: append([]string{"DEMO_HELPER=" + mode}, env...)}
}

// eventually polls cond with a generous deadline for a loaded machine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, 2*time.Minute, 50*time.Millisecond, cond)
}

// dead reports whether pid is gone; a zombie counts as gone, because in a container
// the reaper of orphans may be slow or absent.
func dead(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func readPIDs(t *testing.T, path string) []int {
	t.Helper()
	var b []byte
	eventually(t, "the helper's pid file", func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil
	})
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pid file holds %q", b)
		}
		pids = append(pids, n)
	}
	return pids
}

func TestStopKillsWholeGroupThatIgnoresSIGTERM(t *testing.T) {
	dir := t.TempDir()
	sv := &Supervisor{LogDir: dir, Grace: 300 * time.Millisecond}
	pidFile := filepath.Join(dir, "pids")
	p, err := sv.Start(helper("stubborn", "stubborn", "DEMO_PIDS="+pidFile))
	if err != nil {
		t.Fatal(err)
	}
	pids := readPIDs(t, pidFile)
	if len(pids) != 2 || pids[0] != p.Pid() {
		t.Fatalf("pids %v, leader %d", pids, p.Pid())
	}
	sv.Stop()
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned before the child was reaped")
	}
	for _, pid := range pids {
		eventually(t, fmt.Sprintf("process %d to end", pid), func() bool { return dead(pid) })
	}
}

func TestStopSendsSIGTERMFirst(t *testing.T) {
	dir := t.TempDir()
	sv := &Supervisor{LogDir: dir, Grace: 2 * time.Minute}
	p, err := sv.Start(helper("polite", "polite"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the child to install its handler", func() bool {
		b, _ := os.ReadFile(p.Log)
		return strings.Contains(string(b), "waiting")
	})
	sv.Stop()
	if err := p.Err(); err != nil {
		t.Fatalf("child did not exit cleanly on SIGTERM: %v", err)
	}
	if b, _ := os.ReadFile(p.Log); !strings.Contains(string(b), "bye") {
		t.Fatalf("log %q", b)
	}
	if _, err := sv.Start(helper("late", "sleep")); err != ErrStopped {
		t.Fatalf("Start after Stop: %v", err)
	}
}

func TestWaitReadyTimesOut(t *testing.T) {
	dir := t.TempDir()
	sv := &Supervisor{LogDir: dir, Grace: time.Second}
	defer sv.Stop()
	p, err := sv.Start(helper("sleeper", "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // nobody listens here now
	err = WaitReady(context.Background(), p, 500*time.Millisecond, DialProbe("tcp", addr))
	if err == nil || !strings.Contains(err.Error(), "sleeper was not ready") {
		t.Fatalf("err = %v", err)
	}
}

func TestWaitReadyReportsEarlyExitWithLog(t *testing.T) {
	sv := &Supervisor{LogDir: t.TempDir()}
	defer sv.Stop()
	p, err := sv.Start(helper("broken", "fail"))
	if err != nil {
		t.Fatal(err)
	}
	err = WaitReady(context.Background(), p, 2*time.Minute, HTTPProbe("http://127.0.0.1:1/"))
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "port already in use") {
		t.Fatalf("err = %v", err)
	}
}

func TestWaitReadyHTTP(t *testing.T) {
	sv := &Supervisor{LogDir: t.TempDir()}
	defer sv.Stop()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	p, err := sv.Start(helper("server", "serve", "DEMO_ADDR="+addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitReady(context.Background(), p, 2*time.Minute, HTTPProbe("http://"+addr+"/")); err != nil {
		t.Fatal(err)
	}
}

func TestRunReturnsOutput(t *testing.T) {
	sv := &Supervisor{LogDir: t.TempDir()}
	defer sv.Stop()
	out, err := sv.Run(context.Background(), helper("oneshot", "echo"))
	if err != nil || !strings.Contains(string(out), "ABCDE-12345") {
		t.Fatalf("%q %v", out, err)
	}
	if _, err := sv.Run(context.Background(), helper("oneshot-fail", "fail")); err == nil || !strings.Contains(err.Error(), "oneshot-fail failed") {
		t.Fatalf("err = %v", err)
	}
}

// A supervisor killed with SIGKILL (no chance to clean up) still leaves no child.
func TestChildrenDieWithKilledSupervisor(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	c := exec.Command(os.Args[0])
	c.Env = append(os.Environ(), "DEMO_HELPER=supervisor", "DEMO_PIDS="+pidFile, "DEMO_LOGS="+dir)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	child := readPIDs(t, pidFile)[0]
	if dead(child) {
		t.Fatal("child not running")
	}
	c.Process.Kill()
	c.Wait()
	eventually(t, "the orphan to die with its supervisor", func() bool { return dead(child) })
}
