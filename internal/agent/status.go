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
	"github.com/clinicpro/medtech-images/internal/version"
)

// CheckEnrolled is the check that stands in for the relay's while the PC is not enrolled.
const CheckEnrolled = "agent.enrolled"

// MinFreeSpool is the free space below which the spool's disk is reported.
const MinFreeSpool = 500 << 20

// FixNotEnrolled is the one sentence, in status and in doctor, for a PC with no
// relay credentials.
const FixNotEnrolled = "Run `clinicpro enrol --relay URL --code CODE` as an administrator."

func notEnrolledCheck() health.Check {
	return health.Check{Name: CheckEnrolled, Title: "Enrolment", State: health.Offline, Critical: true,
		Detail: "This PC is not connected to the ClinicPro relay.",
		Fix:    FixNotEnrolled}
}

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
	return localapi.Status{
		Version:        version.Version,
		Relay:          a.opt.RelayURL,
		Facility:       a.opt.Facility,
		Enrolled:       a.opt.Relay != nil,
		Paused:         a.paused.Load(),
		Counts:         apiCounts(counts),
		LastUpload:     last,
		Health:         a.report(now),
		SessionFolders: a.sessionFolders(),
	}, nil
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

// report folds the last health poll with the live checks of the uploader, the
// watcher and the other sources. Polls that cost I/O (relay, disk, backlog age)
// run on a timer instead of on every Status, which the tray asks for often.
func (a *Agent) report(now time.Time) health.Report {
	a.polled.Lock()
	cs := append([]health.Check(nil), a.polls...)
	a.polled.Unlock()
	if a.opt.Uploads != nil {
		cs = append(cs, a.up.Health())
	}
	cs = append(cs, a.w.Health()...)
	cs = append(cs, a.users.Health(now)...)
	for _, f := range a.opt.Checks {
		cs = append(cs, f()...)
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

// poll runs the checks that cost I/O and publishes a status event when any changed.
func (a *Agent) poll(ctx context.Context) {
	var cs []health.Check
	if a.opt.Relay != nil {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		cs = checks.Relay(cctx, a.opt.Relay)
		cancel()
	} else {
		cs = []health.Check{notEnrolledCheck()}
	}
	if ctx.Err() != nil {
		return
	}
	cs = append(cs, checks.Disk(ctx, a.opt.Paths.SpoolDir(), MinFreeSpool))
	if qs, err := a.queueState(ctx); err == nil {
		cs = append(cs, checks.Queue(a.opt.Now(), qs, checks.QueueLimits{})...)
	}
	a.polled.Lock()
	changed := !sameStates(a.polls, cs)
	a.polls = cs
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
