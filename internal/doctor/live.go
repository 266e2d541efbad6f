package doctor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/eventlog"
	"github.com/clinicpro/medtech-images/internal/health"
)

// Live is the agent's view of health: it runs the probes on an interval, keeps
// Since across rounds, writes changes to the event log (relay or facility offline
// and back, a folder gone) and hands each report to OnReport (the local API's
// status and event stream).
type Live struct {
	Probes   []Probe
	Interval time.Duration // 30 s when zero
	Timeout  time.Duration // per probe; 20 s when zero
	Events   eventlog.Writer
	Log      *slog.Logger
	OnReport func(health.Report)

	tracker health.Tracker
	mu      sync.Mutex
	last    health.Report
}

// Report returns the latest report (zero before the first round).
func (l *Live) Report() health.Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// RunOnce runs one round and returns its report.
func (l *Live) RunOnce(ctx context.Context) health.Report {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	now := time.Now()
	var cs []health.Check
	logged := map[string]bool{}
	for i, res := range runProbes(ctx, timeout, l.Probes) {
		for _, c := range res {
			logged[c.Name] = l.Probes[i].Logged
		}
		cs = append(cs, res...)
	}
	cs, changes := l.tracker.Update(now, cs)
	r := health.Aggregate(now, cs)
	for _, c := range changes {
		if logged[c.Name] || (c.From == health.Unknown && c.To == health.OK) {
			continue
		}
		if l.Events != nil {
			if err := eventlog.RecordChange(l.Events, c); err != nil && l.Log != nil {
				l.Log.Warn("event log write failed", "err", err)
			}
		}
		if l.Log != nil {
			l.Log.Info("health changed", "check", c.Name, "from", string(c.From), "to", string(c.To))
		}
	}
	l.mu.Lock()
	l.last = r
	l.mu.Unlock()
	if l.OnReport != nil {
		l.OnReport(r)
	}
	return r
}

// Run runs rounds until ctx ends.
func (l *Live) Run(ctx context.Context) error {
	iv := l.Interval
	if iv <= 0 {
		iv = 30 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		l.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
