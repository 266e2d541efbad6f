// Package agent is the ClinicPro agent: it composes the durable queue, watched-folder
// ingest, the relay and its check catalogue into the localapi.Service that the tray
// and the CLI use. internal/agent/daemon builds its dependencies and serves it.
package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent/diagnostics"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/launch"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/originals"
	"github.com/clinicpro/medtech-images/internal/profiles"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/upload"
	"github.com/clinicpro/medtech-images/internal/watch"
)

// Relay is the relay as the agent uses it: launches, patient lookups and health,
// phone capture, and documents as the uploader sends and reads them back.
// NewEnrolment makes one of the relay client; tests stand in their own.
type Relay interface {
	Launch(ctx context.Context, launchContext, signature string) (client.Launch, error)
	LookupPatient(ctx context.Context, nhi string) (client.Patient, error)
	Health(ctx context.Context) (client.Health, error)
	PhoneRelay
	upload.Relay
}

// Enrolment is this PC's connection to the relay, which `clinicpro enrol` or the
// installer's code made. The agent holds one, or none when the PC is not enrolled:
// "enrolled" is that one nil check everywhere.
type Enrolment struct {
	Relay    Relay
	URL      string // the relay's address, as status shows it
	Facility string // the HPI facility the relay bound this PC to
}

// NewEnrolment is the Enrolment of the relay client c.
func NewEnrolment(c *client.Client, url, facility string) *Enrolment {
	return &Enrolment{Relay: clientRelay{c, relayUploads{c}}, URL: url, Facility: facility}
}

type clientRelay struct {
	*client.Client
	relayUploads
}

// Options configure an Agent.
type Options struct {
	Paths  config.Paths
	Config *config.Config
	// Enrolment is nil when the PC is not enrolled: the agent still takes files in
	// and queues them, and says how to enrol.
	Enrolment *Enrolment
	// Log must not be nil in production; New wraps it in the redacting handler.
	Log *slog.Logger
	Now func() time.Time
	// SessionIdle ends a capture session nobody has touched for this long; 12 h
	// when zero (a GP may leave a window open all day).
	SessionIdle time.Duration
	// HealthInterval is how often the costly checks (relay, disk, queue) run; 30 s
	// when zero.
	HealthInterval time.Duration
	// Checks are the checks the daemon owns (HCM on its host, the installer's
	// enrolment); New adds the agent's own (relay or enrolment, disk, queue,
	// uploads, folders) and builds the catalogue once.
	Checks checks.Deps

	// Converter feeds the uploader (ImagingConverter when nil).
	Converter upload.Converter
	Backoff   upload.Backoff
	Breaker   upload.BreakerPolicy
	// WatchOpener overrides how the watcher opens a stable file (tests); nil:
	// originals.Root.Open.
	WatchOpener watch.Opener
	// PollInterval is how often poll-only folders are scanned; 5 s when zero.
	PollInterval time.Duration
	// Profiles lists the signed-in users for folders in each user's profile
	// (%USERPROFILE%, ~) and the public folder (%PUBLIC%); profiles.System() when nil.
	Profiles profiles.Source
	// UsersInterval is how often the signed-in users are listed; UsersInterval when zero.
	UsersInterval time.Duration
}

// Agent implements localapi.Service.
type Agent struct {
	opt Options
	q   *queue.Queue
	up  *upload.Uploader
	w   *watch.Watcher
	// users watches the folders in each signed-in user's profile.
	users *userFolders
	hub   *localapi.Hub
	log   *slog.Logger
	logs  *diagnostics.Ring
	// relay is the enrolment's relay, nil when not enrolled.
	relay Relay

	mu       sync.Mutex
	sessions map[string]*session
	launches launch.Once              // each Medtech launch opens one session only
	phones   map[string]*phoneSession // by capture session id
	// phoneWake cuts the phone long poll short when the set of sessions changed.
	phoneWake chan struct{}

	paused atomic.Bool
	// catalogue is every check the agent makes, built once in New; the costly
	// ones' last results are in polls, by index.
	catalogue []health.Probe
	polled    sync.Mutex
	polls     map[int][]health.Check
	tracker   health.Tracker

	statusDirty chan struct{}
}

var _ localapi.Service = (*Agent)(nil)

// New opens the queue in opt.Paths and returns a ready Agent; call Run to start its
// background work and Close when done.
func New(ctx context.Context, opt Options) (*Agent, error) {
	if opt.Config == nil {
		return nil, errors.New("agent: no configuration")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SessionIdle <= 0 {
		opt.SessionIdle = 12 * time.Hour
	}
	if opt.HealthInterval <= 0 {
		opt.HealthInterval = 30 * time.Second
	}
	logs := diagnostics.NewRing(300)
	base := opt.Log
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	// Every line goes through redaction, and a copy is kept for the diagnostics bundle.
	log := slog.New(redact.NewHandler(teeHandler{base.Handler(), slog.NewTextHandler(logs, nil)}))
	a := &Agent{
		opt: opt, hub: localapi.NewHub(256), log: log, logs: logs, polls: map[int][]health.Check{},
		sessions:    map[string]*session{},
		phones:      map[string]*phoneSession{},
		phoneWake:   make(chan struct{}, 1),
		statusDirty: make(chan struct{}, 1),
	}
	q, err := queue.Open(ctx, opt.Paths.QueueDB(), opt.Paths.SpoolDir(), queue.Options{Now: opt.Now, OnChange: a.itemChanged})
	if err != nil {
		return nil, err
	}
	a.q = q
	conv := opt.Converter
	if conv == nil {
		conv = ImagingConverter{PDF: opt.Config.PDF}
	}
	if opt.Profiles == nil {
		opt.Profiles = profiles.System()
		a.opt.Profiles = opt.Profiles
	}
	shared, perUser := splitFolders(opt.Config.Folders, opt.Profiles)
	wopt := watch.Options{
		StabilityWindow: opt.Config.StabilityWindow.D(), ScanInterval: opt.Config.ScanInterval.D(),
		PollInterval: opt.PollInterval, Handle: a.HandleFile, Open: opt.WatchOpener, Log: log.With("component", "watch"),
	}
	a.users = newUserFolders(opt.Profiles, perUser, wopt, opt.UsersInterval)
	var uploads upload.Relay
	if opt.Enrolment != nil {
		a.relay = opt.Enrolment.Relay
		uploads = a.relay
	}
	a.up = upload.New(upload.Options{
		Queue: q, Converter: conv, Relay: uploads, ByteBudget: opt.Config.ByteBudget,
		RejectedDir: opt.Paths.RejectedDir(), Roots: rootSet{shared: roots(shared), users: a.users}, Backoff: opt.Backoff, Breaker: opt.Breaker,
		Now: opt.Now, Log: log.With("component", "upload"),
	})
	wopt.Folders = shared
	a.w = watch.New(wopt)
	if _, err := os.Stat(a.pauseFile()); err == nil {
		a.paused.Store(true)
		a.up.Pause(true)
	}
	a.catalogue = checks.Catalogue(a.checkDeps())
	return a, nil
}

// roots are the watched folders, where originals may be moved or deleted.
func roots(folders []config.Folder) originals.Roots {
	var rs originals.Roots
	for _, f := range folders {
		rs = append(rs, originals.NewRoot(f.Path))
	}
	return rs
}

// Log is the agent's redacting logger, for the local API the daemon serves it on.
func (a *Agent) Log() *slog.Logger { return a.log }

// Paused reports whether uploads are paused (Pause also tells the uploader, which
// then starts no new item).
func (a *Agent) Paused() bool { return a.paused.Load() }

// enrolled reports the one thing every "is this PC enrolled" question asks.
func (a *Agent) enrolled() bool { return a.opt.Enrolment != nil }

// facility is the HPI facility this PC is bound to; empty when not enrolled.
func (a *Agent) facility() string {
	if a.opt.Enrolment == nil {
		return ""
	}
	return a.opt.Enrolment.Facility
}

// Close closes the queue.
func (a *Agent) Close() error { return a.q.Close() }

// Run watches the folders, drains the queue (when enrolled) and does the agent's own
// housekeeping (health polls, session expiry, status events) until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run(a.runHealth)
	run(a.runStatusEvents)
	run(func(ctx context.Context) {
		if err := a.w.Run(ctx); err != nil {
			a.log.Error("the folder watcher stopped", "err", err)
		}
	})
	run(a.users.Run)
	if a.relay != nil {
		run(a.runPhone)
		run(func(ctx context.Context) {
			if err := a.up.Run(ctx); err != nil {
				a.log.Error("the uploader stopped", "err", err)
			}
		})
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	a.pruneSent(ctx)
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			a.hub.CloseAll()
			return nil
		case <-t.C:
			a.expireSessions(ctx)
			if time.Since(lastPrune) >= PruneEvery {
				a.pruneSent(ctx)
				lastPrune = time.Now()
			}
		}
	}
}

// PruneEvery is how often sent items past sent_retention are pruned (and once at start).
const PruneEvery = time.Hour

// pruneSent removes sent items older than the configured retention (see
// queue.PruneSent: only what ALEX confirmed).
func (a *Agent) pruneSent(ctx context.Context) {
	keep := a.opt.Config.SentRetention.D()
	if keep <= 0 {
		keep = config.DefaultSentRetention
	}
	n, err := a.q.PruneSent(ctx, a.opt.Now().Add(-keep))
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Warn("could not prune sent items; it is retried within the hour", "err", err)
	case n > 0:
		a.log.Info("pruned sent items past sent_retention", "items", n, "retention", keep.String())
	}
}

func (a *Agent) pauseFile() string { return filepath.Join(a.opt.Paths.DataDir, "paused") }

// itemChanged turns every committed queue change into an event, and marks the
// status (counts) stale.
func (a *Agent) itemChanged(it queue.Item) {
	api := apiItem(it)
	a.hub.Publish(localapi.Event{Type: localapi.EventItem, Item: &api})
	a.markStatus()
}

func (a *Agent) markStatus() {
	select {
	case a.statusDirty <- struct{}{}:
	default:
	}
}

// runStatusEvents coalesces bursts of changes (a folder of 300 scans) into at most a
// few Status events a second, since each one costs queue queries.
func (a *Agent) runStatusEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.statusDirty:
		}
		if a.hub.Subscribers() > 0 {
			if st, err := a.Status(ctx); err == nil {
				a.hub.Publish(localapi.Event{Type: localapi.EventStatus, Status: &st})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Events streams item, status and launch events.
func (a *Agent) Events(ctx context.Context) (<-chan localapi.Event, error) {
	return a.hub.Subscribe(ctx), nil
}

// Pause stops or resumes uploads; it survives a restart so a practice that paused
// for a Medtech outage is not surprised.
func (a *Agent) Pause(ctx context.Context, paused bool) (localapi.Status, error) {
	var err error
	if paused {
		err = os.WriteFile(a.pauseFile(), []byte("paused by a user\n"), 0o600)
	} else {
		err = os.Remove(a.pauseFile())
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	}
	if err != nil {
		a.log.Warn("could not record the pause on disk; it lasts until the agent restarts", "err", err)
	}
	a.paused.Store(paused)
	a.up.Pause(paused)
	a.log.Info("uploads paused", "paused", paused)
	st, err := a.Status(ctx)
	if err != nil {
		return st, err
	}
	a.hub.Publish(localapi.Event{Type: localapi.EventStatus, Status: &st})
	return st, nil
}
