package agent

import (
	"context"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/upload"
	"github.com/clinicpro/medtech-images/internal/version"
)

// Status is the agent at a glance: counts from the queue, and every health source
// folded into one report.
func (a *Agent) Status(ctx context.Context) (localapi.Status, error) {
	now := a.opt.Now()
	y, m, d := now.Date()
	counts, err := a.q.Counts(ctx, time.Date(y, m, d, 0, 0, 0, 0, now.Location()))
	if err != nil {
		return localapi.Status{}, err
	}
	last, err := a.q.LastSent(ctx)
	if err != nil {
		return localapi.Status{}, err
	}
	st := localapi.Status{
		Version:        version.Version,
		Enrolled:       a.enrolled(),
		Paused:         a.paused.Load(),
		Counts:         apiCounts(counts),
		LastUpload:     last,
		Health:         a.report(ctx, now),
		SessionFolders: a.sessionFolders(),
	}
	if e := a.opt.Enrolment; e != nil {
		st.Relay, st.Facility = e.URL, e.Facility
	}
	return st, nil
}

// sessionFolders are the "session" folders and, for the shared ones, the session
// their files go to now.
func (a *Agent) sessionFolders() []localapi.SessionFolder {
	var out []localapi.SessionFolder
	for _, f := range a.opt.Config.Folders {
		if f.Routing != config.RoutingSession {
			continue
		}
		sf := localapi.SessionFolder{Label: f.Label, PerUser: f.PerUser(), CameraRoll: f.CameraRoll()}
		if !sf.PerUser {
			if s := a.currentSession(""); s != nil {
				sf.Receiver = s.ID
			}
		}
		out = append(out, sf)
	}
	return out
}

// Recheck runs the polled checks now and announces the result.
func (a *Agent) Recheck(ctx context.Context) (localapi.Status, error) {
	a.poll(ctx)
	a.w.Rescan()
	st, err := a.Status(ctx)
	if err != nil {
		return st, err
	}
	a.hub.Publish(localapi.Event{Type: localapi.EventStatus, Status: &st})
	a.log.Info("health checked again on request")
	return st, nil
}

// checkDeps are the agent's parts as the catalogue looks at them, with the
// daemon's own checks (HCM, the installer's enrolment).
func (a *Agent) checkDeps() checks.Deps {
	d := a.opt.Checks
	if a.relay != nil {
		d.Relay = a.relay
		d.Uploads = health.Probe{Name: upload.CheckName, Title: "Sending to Medtech", Run: func(context.Context) []health.Check {
			return []health.Check{a.up.Health()}
		}}
	}
	d.Queue = a.queueState
	d.SpoolDir = a.opt.Paths.SpoolDir()
	// The watchers' own view of every folder, the shared ones and each signed-in
	// user's.
	d.Folders = nil
	d.Watcher = func() []health.Check { return append(a.w.Health(), a.users.Health(a.opt.Now())...) }
	return d
}

// report is the catalogue in its order: the costly probes' results from the last
// health poll, the others read now. Polls that cost I/O (relay, disk, queue) run on
// a timer instead of on every Status, which the tray asks for often.
func (a *Agent) report(ctx context.Context, now time.Time) health.Report {
	a.polled.Lock()
	polls := a.polls
	a.polled.Unlock()
	var cs []health.Check
	for i, p := range a.catalogue {
		if p.Costly {
			cs = append(cs, polls[i]...)
		} else {
			cs = append(cs, p.Run(ctx)...)
		}
	}
	cs, _ = a.tracker.Update(now, cs)
	return health.Aggregate(now, cs)
}

func (a *Agent) runHealth(ctx context.Context) {
	t := time.NewTicker(a.opt.HealthInterval)
	defer t.Stop()
	for {
		a.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollTimeout bounds each costly probe: one that does not answer (a relay, a
// network share) is Unknown for this round rather than holding up the others.
const pollTimeout = 20 * time.Second

// poll runs the costly probes together and publishes a status event when any
// changed.
func (a *Agent) poll(ctx context.Context) {
	var idx []int
	var costly []health.Probe
	for i, p := range a.catalogue {
		if p.Costly {
			idx, costly = append(idx, i), append(costly, p)
		}
	}
	results := health.RunProbes(ctx, pollTimeout, costly)
	if ctx.Err() != nil {
		return
	}
	polls := map[int][]health.Check{}
	changed := false
	a.polled.Lock()
	for j, cs := range results {
		polls[idx[j]] = cs
		changed = changed || !sameStates(a.polls[idx[j]], cs)
	}
	a.polls = polls
	a.polled.Unlock()
	if changed {
		a.markStatus()
	}
}

func (a *Agent) queueState(ctx context.Context) (checks.QueueState, error) {
	var qs checks.QueueState
	queued, err := a.q.List(ctx, queue.StateQueued, queue.StateUploading)
	if err != nil {
		return qs, err
	}
	qs.Queued = len(queued)
	if len(queued) > 0 {
		qs.OldestQueued = queued[0].Added
	}
	parked, err := a.q.List(ctx, queue.StateParked)
	if err != nil {
		return qs, err
	}
	qs.Parked = len(parked)
	qs.Latest = latestProblem(parked)
	waiting, err := a.q.List(ctx, queue.StateUnassigned)
	if err != nil {
		return qs, err
	}
	// Only the files the relay sent back count: a scanner folder's Unassigned files
	// are the ordinary way of working, not a problem.
	var sentBack []queue.Item
	for _, it := range waiting {
		if api.Cause(it.Cause).Known() {
			sentBack = append(sentBack, it)
		}
	}
	qs.Unassigned, qs.LatestUnassigned = len(sentBack), latestProblem(sentBack)
	return qs, nil
}

// latestProblem is the most recently changed item's cause and reason.
func latestProblem(items []queue.Item) checks.Problem {
	var latest *queue.Item
	for i := range items {
		if latest == nil || items[i].Updated.After(latest.Updated) {
			latest = &items[i]
		}
	}
	if latest == nil {
		return checks.Problem{}
	}
	return checks.Problem{Cause: api.Cause(latest.Cause), Reason: latest.Reason}
}

func sameStates(a, b []health.Check) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].State != b[i].State || a[i].Detail != b[i].Detail {
			return false
		}
	}
	return true
}
