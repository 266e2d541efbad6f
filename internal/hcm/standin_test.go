package hcm

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, 60*time.Second, 50*time.Millisecond, cond)
}

// TestStandInStopRestartAndTunnel runs the demo's path for real: a stand-in HCM
// process holding a TCP connection to a loopback "relay"; stopping it turns the
// checks Offline, the policy starts it again, and gopsutil sees its connection.
func TestStandInStopRestartAndTunnel(t *testing.T) {
	ln := holdingListener(t)
	port := ln.Addr().(*net.TCPAddr).Port
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HCM_STANDIN_DIAL", ln.Addr().String())
	// Not t.TempDir: under Wine, removing a directory a killed process just used
	// can fail, and that is no fault of the code under test.
	dir, err := os.MkdirTemp("", "hcm-standin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &StandIn{ServiceName: "hcm-standin", PIDFile: filepath.Join(dir, "hcm.pid"), Command: []string{exe}}
	ctx := context.Background()
	t.Cleanup(func() { _ = s.Stop(ctx) })

	if st, err := s.State(ctx, "hcm-standin"); err != nil || st.State != Stopped {
		t.Fatalf("before start: %+v %v", st, err)
	}
	if st, _ := s.State(ctx, "other"); st.State != NotInstalled {
		t.Fatalf("other name: %+v", st)
	}
	m := New(Config{ServiceName: "hcm-standin", TunnelPort: port, Recovery: Policy{Enabled: true, Grace: 0, MaxPerHour: 3}}, s, nil, &recEvents{}, quiet())

	// First poll: stopped, so the policy starts it.
	m.Poll(ctx)
	var cs []health.Check
	waitFor(t, "stand-in running with its tunnel up", func() bool {
		cs = m.Poll(ctx)
		return find(t, cs, CheckService).State == health.OK && find(t, cs, CheckTunnel).State == health.OK
	})
	pid := find(t, cs, CheckService)
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	m.rec.p.Enabled = false // observe the stop before restarting
	cs = m.Poll(ctx)
	if c := find(t, cs, CheckService); c.State != health.Offline || c.Fix != FixServiceStopped {
		t.Fatalf("after stop: %+v (was %s)", c, pid.Detail)
	}
	if r := health.Aggregate(time.Now(), cs); r.State != health.Offline {
		t.Fatalf("aggregate after stop: %+v", r)
	}
	m.rec.p.Enabled = true
	waitFor(t, "restart by policy", func() bool {
		cs = m.Poll(ctx)
		return find(t, cs, CheckService).State == health.OK && find(t, cs, CheckTunnel).State == health.OK
	})
}

func TestEstablishedToSeesOwnConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	got, err := EstablishedTo(context.Background(), os.Getpid(), port)
	if err != nil {
		t.Skipf("connections not readable here: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("connections to %d: %v", port, got)
	}
	if got, _ := EstablishedTo(context.Background(), os.Getpid(), port+1); len(got) != 0 {
		t.Fatalf("wrong port matched: %v", got)
	}
}

// TestRunReportsStopAndRestarts is the demo's promise: with Run polling, stopping
// the stand-in makes an Offline change carrying the HCM sentence, and the policy
// brings it back without anyone touching it.
func TestRunReportsStopAndRestarts(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ln := holdingListener(t)
	t.Setenv("HCM_STANDIN_DIAL", ln.Addr().String())
	dir, err := os.MkdirTemp("", "hcm-run")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &StandIn{ServiceName: "hcm-standin", PIDFile: filepath.Join(dir, "hcm.pid"), Command: []string{exe}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Start(ctx, "hcm-standin"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })

	changes := make(chan health.Change, 100)
	m := New(Config{ServiceName: "hcm-standin", Interval: 100 * time.Millisecond,
		Recovery: Policy{Enabled: true, Grace: 300 * time.Millisecond, MaxPerHour: 3}}, s, nil, &recEvents{}, quiet())
	m.OnChange = func(c health.Change) { changes <- c }
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	waitFor(t, "the first poll to see it running", func() bool {
		cs := m.Checks()
		return len(cs) > 0 && cs[0].State == health.OK
	})
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	var offline, back bool
	deadline := time.After(60 * time.Second)
	for !(offline && back) {
		select {
		case c := <-changes:
			if c.Name == CheckService && c.To == health.Offline && c.Fix == FixServiceStopped {
				offline = true
			}
			if c.Name == CheckService && c.To == health.OK && offline {
				back = true
			}
		case <-deadline:
			t.Fatalf("offline=%v back=%v", offline, back)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
}

// holdingListener is a loopback "relay" that accepts connections and holds them open
// until the test ends, as Azure Relay holds HCM's.
func holdingListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	return ln
}
