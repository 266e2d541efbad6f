package hcm

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
)

// recEvents records event-log writes.
type recEvents struct {
	mu      sync.Mutex
	entries []string
}

func (r *recEvents) add(level string, id uint32, msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, level+" "+msg)
	return nil
}
func (r *recEvents) Info(id uint32, msg string) error    { return r.add("info", id, msg) }
func (r *recEvents) Warning(id uint32, msg string) error { return r.add("warning", id, msg) }
func (r *recEvents) Error(id uint32, msg string) error   { return r.add("error", id, msg) }
func (r *recEvents) has(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if strings.Contains(e, sub) {
			return true
		}
	}
	return false
}

// testClock is a settable test testClock with a monotonic reading that follows wall time
// unless a test makes them diverge.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

func longAgo(context.Context) (time.Time, error) {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func find(t *testing.T, cs []health.Check, name string) health.Check {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s in %+v", name, cs)
	return health.Check{}
}

func newTestMonitor(f *Fake, p Policy) (*Monitor, *testClock, *recEvents) {
	ev := &recEvents{}
	m := New(Config{Recovery: p, Interval: 30 * time.Second}, f, nil, ev, quiet())
	c := &testClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	m.Now = c.now
	m.Conns = func(context.Context, int, int) ([]string, error) { return []string{"203.0.113.9:443"}, nil }
	m.BootTime = longAgo
	return m, c, ev
}

func TestServiceStoppedIsOfflineThenRestartedByPolicy(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Running, 100)
	m, clk, ev := newTestMonitor(f, Policy{Enabled: true, Grace: time.Minute, MaxPerHour: 2})
	ctx := context.Background()

	if c := find(t, m.Poll(ctx), CheckService); c.State != health.OK {
		t.Fatalf("running service: %+v", c)
	}
	f.Set(DefaultServiceName, Stopped, 0)
	clk.t = clk.t.Add(30 * time.Second)
	cs := m.Poll(ctx)
	svc := find(t, cs, CheckService)
	if svc.State != health.Offline || svc.Fix != FixServiceStopped || !strings.HasSuffix(svc.Detail, "The agent will start it after a minute stopped.") {
		t.Fatalf("stopped service: %+v", svc)
	}
	if r := health.Aggregate(clk.t, cs); r.State != health.Offline || !strings.Contains(r.Summary, "so Medtech cannot reach this practice") {
		t.Fatalf("aggregate: %+v", r)
	}
	if f.Starts(DefaultServiceName) != 0 {
		t.Fatal("restarted inside the grace period")
	}
	if !ev.has("error Hybrid Connection Manager: offline") {
		t.Fatalf("no event for the stop: %v", ev.entries)
	}
	clk.t = clk.t.Add(61 * time.Second)
	svc = find(t, m.Poll(ctx), CheckService)
	if f.Starts(DefaultServiceName) != 1 || svc.State != health.OK || !strings.Contains(svc.Detail, "restarted by the agent at 09:01") {
		t.Fatalf("after grace: starts=%d %+v", f.Starts(DefaultServiceName), svc)
	}
	if !ev.has("ClinicPro started the stopped service HybridConnectionManager") {
		t.Fatalf("restart not recorded: %v", ev.entries)
	}
}

func TestRestartBudgetPerHour(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Stopped, 0)
	f.StartResult = Stopped // the service dies straight away
	m, clk, _ := newTestMonitor(f, Policy{Enabled: true, Grace: 0, MaxPerHour: 2})
	ctx := context.Background()
	var last health.Check
	for i := 0; i < 6; i++ {
		last = find(t, m.Poll(ctx), CheckService)
		clk.t = clk.t.Add(time.Minute)
	}
	if n := f.Starts(DefaultServiceName); n != 2 {
		t.Fatalf("starts in an hour = %d, want 2", n)
	}
	if last.Fix != FixRestartsUsedUp {
		t.Fatalf("fix after budget: %q", last.Fix)
	}
	clk.t = clk.t.Add(time.Hour)
	m.Poll(ctx)
	if n := f.Starts(DefaultServiceName); n != 3 {
		t.Fatalf("budget did not renew after an hour: %d starts", n)
	}
}

func TestRecoveryDisabledNeverStarts(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Stopped, 0)
	m, clk, _ := newTestMonitor(f, Policy{Enabled: false, Grace: 0, MaxPerHour: 5})
	for i := 0; i < 3; i++ {
		m.Poll(context.Background())
		clk.t = clk.t.Add(time.Hour)
	}
	if f.Starts(DefaultServiceName) != 0 {
		t.Fatal("started with recovery off")
	}
}

func TestStartFailureIsReported(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Stopped, 0)
	f.StartErr = errors.New("access is denied")
	m, _, ev := newTestMonitor(f, Policy{Enabled: true, MaxPerHour: 1})
	svc := find(t, m.Poll(context.Background()), CheckService)
	if svc.State != health.Offline || !strings.Contains(svc.Detail, "could not start it: access is denied") {
		t.Fatalf("%+v", svc)
	}
	if !ev.has("could not start") {
		t.Fatalf("events: %v", ev.entries)
	}
}

func TestServiceStates(t *testing.T) {
	cases := []struct {
		st   ServiceState
		want health.State
		fix  string
	}{
		{NotInstalled, health.Offline, FixServiceMissing},
		{StartPending, health.Degraded, ""},
		{StopPending, health.Offline, FixServiceStopped},
		{Paused, health.Offline, FixServiceStopped},
		{PausePending, health.Offline, FixServiceStopped},
		{ContinuePending, health.Degraded, ""},
	}
	for _, tc := range cases {
		f := NewFake()
		if tc.st != NotInstalled {
			f.Set(DefaultServiceName, tc.st, 0)
		}
		m, _, _ := newTestMonitor(f, Policy{})
		c := find(t, m.Poll(context.Background()), CheckService)
		if c.State != tc.want || c.Fix != tc.fix {
			t.Errorf("%s: got %s fix %q", tc.st, c.State, c.Fix)
		}
	}
	f := NewFake()
	f.StateErr = errors.New("access is denied")
	m, _, _ := newTestMonitor(f, Policy{})
	cs := m.Poll(context.Background())
	if c := find(t, cs, CheckService); c.State != health.Unknown || c.Fix != FixServiceUnread {
		t.Errorf("unreadable: %+v", c)
	}
	if c := find(t, cs, CheckTunnel); c.State != health.Unknown {
		t.Errorf("tunnel of an unreadable service: %+v", c)
	}
}

func TestTunnelWithoutConnectionsIsOffline(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Running, 77)
	m, _, _ := newTestMonitor(f, Policy{})
	var gotPID, gotPort int
	m.Conns = func(_ context.Context, pid, port int) ([]string, error) { gotPID, gotPort = pid, port; return nil, nil }
	c := find(t, m.Poll(context.Background()), CheckTunnel)
	if c.State != health.Offline || c.Fix != FixTunnelDown || !c.Critical {
		t.Fatalf("%+v", c)
	}
	if gotPID != 77 || gotPort != 443 {
		t.Fatalf("looked at pid %d port %d", gotPID, gotPort)
	}
	m.Conns = func(context.Context, int, int) ([]string, error) { return nil, errors.New("denied") }
	if c := find(t, m.Poll(context.Background()), CheckTunnel); c.State != health.Unknown || c.Fix != FixTunnelUnreadable {
		t.Fatalf("%+v", c)
	}
}

func TestKeepAwakeFollowsClinicHours(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Running, 1)
	h := config.ClinicHours{Days: []config.Weekday{1, 2, 3, 4, 5}, Open: 8 * 60, Close: 18 * 60}
	aw := &FakeAwake{}
	m := New(Config{ClinicHours: h, Interval: 30 * time.Second}, f, aw, &recEvents{}, quiet())
	m.Conns = func(context.Context, int, int) ([]string, error) { return []string{"x"}, nil }
	m.BootTime = longAgo
	nz := time.FixedZone("NZDT", 13*3600)
	now := time.Date(2026, 11, 27, 7, 59, 0, 0, nz) // a Friday
	m.Now = func() time.Time { return now }
	step := func(d time.Duration) health.Check {
		now = now.Add(d)
		return find(t, m.Poll(context.Background()), CheckKeepAwake)
	}

	if c := step(0); aw.Held || c.State != health.OK {
		t.Fatalf("before hours: held=%v %+v", aw.Held, c)
	}
	if c := step(time.Minute); !aw.Held || c.Detail != "keeping this PC awake in clinic hours" {
		t.Fatalf("in hours: held=%v %+v", aw.Held, c)
	}
	for i := 0; i < 20; i++ {
		step(30 * time.Second)
	}
	if aw.Holds != 1 {
		t.Fatalf("held %d times, want once", aw.Holds)
	}
	now = time.Date(2026, 11, 27, 17, 59, 45, 0, nz)
	step(0)
	if c := step(30 * time.Second); aw.Held {
		t.Fatalf("after hours still held: %+v", c)
	}
	aw.HoldErr = errors.New("not supported")
	now = time.Date(2026, 11, 30, 9, 0, 0, 0, nz) // Monday
	if c := step(0); c.State != health.Degraded || c.Fix != FixKeepAwake {
		t.Fatalf("hold failure: %+v", c)
	}
}

func TestSleepDetected(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Running, 1)
	h := config.ClinicHours{Open: 0, Close: 24 * 60}
	ev := &recEvents{}
	m := New(Config{ClinicHours: h, Interval: 30 * time.Second}, f, &FakeAwake{}, ev, quiet())
	m.Conns = func(context.Context, int, int) ([]string, error) { return []string{"x"}, nil }
	m.BootTime = longAgo
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	m.Now = func() time.Time { return now }
	m.Poll(context.Background())
	now = now.Add(30 * time.Second)
	if c := find(t, m.Poll(context.Background()), CheckKeepAwake); c.State != health.OK {
		t.Fatalf("normal interval flagged: %+v", c)
	}
	now = now.Add(40 * time.Minute) // no polls for 40 minutes: the process was suspended
	c := find(t, m.Poll(context.Background()), CheckKeepAwake)
	if c.State != health.Degraded || c.Fix != FixSlept || !strings.Contains(c.Detail, "from 12:01 to 12:40") {
		t.Fatalf("sleep not reported: %+v", c)
	}
	if !ev.has("slept or was suspended") {
		t.Fatalf("no sleep event: %v", ev.entries)
	}
	for i := 0; i < 122; i++ { // an hour of regular polls
		now = now.Add(30 * time.Second)
		c = find(t, m.Poll(context.Background()), CheckKeepAwake)
	}
	if c.State != health.OK {
		t.Fatalf("sleep still reported after an hour: %+v", c)
	}
}

func TestSinceKeepsTimeOfLastChange(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Running, 5)
	m, clk, _ := newTestMonitor(f, Policy{})
	start := clk.t
	m.Poll(context.Background())
	clk.t = clk.t.Add(10 * time.Minute)
	if c := find(t, m.Poll(context.Background()), CheckService); !c.Since.Equal(start) {
		t.Fatalf("since = %v, want %v", c.Since, start)
	}
	if got := m.Checks(); len(got) != 2 {
		t.Fatalf("Checks() = %d checks", len(got))
	}
}

func TestRestartInClinicHoursReported(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Running, 1)
	h := config.ClinicHours{Days: []config.Weekday{1, 2, 3, 4, 5}, Open: 8 * 60, Close: 18 * 60}
	m := New(Config{ClinicHours: h}, f, &FakeAwake{}, &recEvents{}, quiet())
	m.Conns = func(context.Context, int, int) ([]string, error) { return []string{"x"}, nil }
	now := time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC) // Friday
	boot := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)  // before opening: ordinary
	m.Now = func() time.Time { return now }
	m.BootTime = func(context.Context) (time.Time, error) { return boot, nil }
	if c := find(t, m.Poll(context.Background()), CheckKeepAwake); c.State != health.OK {
		t.Fatalf("morning start reported: %+v", c)
	}
	boot = now.Add(-10 * time.Minute)
	c := find(t, m.Poll(context.Background()), CheckKeepAwake)
	if c.State != health.Degraded || c.Fix != FixRestarted || !strings.Contains(c.Detail, "restarted at 10:20") {
		t.Fatalf("restart in hours: %+v", c)
	}
}

func TestNoKeepAwakeCheckWithoutKeepAwake(t *testing.T) {
	f := NewFake()
	f.Set(DefaultServiceName, Running, 1)
	m := New(Config{ClinicHours: config.ClinicHours{Close: 24 * 60}}, f, nil, &recEvents{}, quiet())
	m.Conns = func(context.Context, int, int) ([]string, error) { return []string{"x"}, nil }
	for _, c := range m.Poll(context.Background()) {
		if c.Name == CheckKeepAwake {
			t.Fatalf("doctor mode has a keep-awake check: %+v", c)
		}
	}
}
