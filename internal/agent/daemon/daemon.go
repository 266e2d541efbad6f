// Package daemon composes the ClinicPro agent from its data folder: the folder's
// permissions, the log, the configuration and the stored credentials, the
// installer's values and enrolment, the relay client, the HCM monitor with
// keep-awake and the event log, the agent with its one check catalogue, the local
// API and the web launch listener. internal/cli only parses flags and calls it, as
// internal/relay/relaycli calls internal/relay/daemon.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/datadir"
	"github.com/clinicpro/medtech-images/internal/eventlog"
	"github.com/clinicpro/medtech-images/internal/hcm"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/logfile"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/rollout"
	"github.com/clinicpro/medtech-images/internal/secret"
	"github.com/clinicpro/medtech-images/internal/version"
)

// Options are what the command line decides about a run of the agent.
type Options struct {
	Paths config.Paths
	// Listen is the local API's address: "" for the platform's (the named pipe, or
	// agent.sock in the data directory), "tcp:127.0.0.1:PORT" for tests and tools.
	Listen string
	// LaunchListen serves Medtech web launch URLs on this loopback address; ""
	// takes launch_listen from the configuration.
	LaunchListen string
	// Stderr, when not nil, also gets the log (a person running the agent in a
	// terminal).
	Stderr io.Writer
}

// Run is the agent process, until ctx ends. When the installer's enrolment
// succeeds only after start (the relay was unreachable, or the first start left it
// for after ready), the agent starts again in-process so it connects with the new
// credentials.
//
// ready (may be nil) is called once, when the data folder, configuration, queue,
// local API and launch listener are all open and nothing has needed the network:
// the service reports "running" only then, so a start that cannot work fails where
// Windows Installer sees it and rolls the install or upgrade back.
func Run(ctx context.Context, opt Options, ready func()) error {
	var once sync.Once
	signal := func() {
		if ready != nil {
			once.Do(ready)
		}
	}
	p := opt.Paths
	// Before anything is read from or written to the data folder: it holds patient
	// identifiers (the queue) and the relay credentials, and a folder someone else
	// created could feed the agent their configuration.
	datadir.RestrictNewFiles()
	secured, err := datadir.Secure(p.DataDir)
	if err != nil {
		return err
	}
	log, closeLog, err := openLog(p, opt.Stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	if n := len(secured.Repaired); n > 0 {
		msg := fmt.Sprintf("The permissions of %d item(s) in %s had been loosened (first: %s) and were restored to the agent and administrators only.", n, p.DataDir, secured.Repaired[0])
		log.Warn(msg)
		reportEvent(eventlog.IDDataRepaired, false, msg)
	}
	for first := true; ; first = false {
		reload, err := runOnce(ctx, opt, log, first, signal)
		if !reload || ctx.Err() != nil {
			return err
		}
		log.Info("enrolled from the installer's settings; starting again to connect")
	}
}

// openLog writes the agent's log to agent.log in the data directory, which the
// diagnostics bundle and practice IT read, and to w when it is not nil. The file is
// rolled once at start-up past 10 MB, which is weeks of normal logging. It is
// redacted but still says which folders, relay and services this practice runs, so
// only the agent's account (and administrators) may read it.
func openLog(p config.Paths, w io.Writer) (*slog.Logger, func(), error) {
	f, err := logfile.Open(logFile(p), 10<<20, 0o600)
	if err != nil {
		return nil, nil, err
	}
	var out io.Writer = f
	if w != nil {
		out = io.MultiWriter(f, w)
	}
	return slog.New(redact.NewHandler(slog.NewTextHandler(out, nil))), func() { f.Close() }, nil
}

func logFile(p config.Paths) string { return filepath.Join(p.LogDir(), "agent.log") }

// runOnce is one start of the agent; reload says the installer's enrolment
// succeeded meanwhile and the agent should start again to connect.
func runOnce(ctx context.Context, opt Options, log *slog.Logger, first bool, ready func()) (reload bool, err error) {
	p := opt.Paths
	// Loaded once per start: on Windows every Load is a DPAPI decryption.
	store := secret.NewStore(p.DataDir)
	creds, credErr := store.Load()
	// On the first start the relay is not asked yet: the service must report running
	// without the network (the MSI waits for it), so enrolment follows at once after.
	ro, fresh := applyRollout(ctx, p, credErr == nil, !first, log)
	if ro.Enrolled {
		creds, credErr = fresh, nil
	}
	if err := config.WriteExample(p.ConfigFile); err != nil {
		return false, err
	}
	cfg, err := config.Load(p.ConfigFile)
	if err != nil {
		return false, err
	}
	var enr *agent.Enrolment
	switch {
	case errors.Is(credErr, secret.ErrNotEnrolled):
		log.Warn("not enrolled: files are taken and queued but wait until `clinicpro enrol` is run")
	case credErr != nil:
		return false, credErr
	default:
		if enr, err = enrolment(cfg, creds); err != nil {
			return false, err
		}
	}
	aopt := agent.Options{Paths: p, Config: cfg, Log: log, HealthInterval: cfg.HealthInterval.D(), Enrolment: enr}
	aopt.Checks.Rollout = health.Probe{Name: rollout.CheckEnrol, Title: "Enrolment from the installer", Run: func(context.Context) []health.Check {
		return rollout.Checks(p.DataDir, enr != nil)
	}}

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var enrolledLater atomic.Bool
	// started is closed once the agent is up; the installer's enrolment is tried
	// only then, at once when the first start left it for now, and every
	// rolloutRetry while the relay cannot be reached.
	started := make(chan struct{})
	if ro.Pending {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if retryRollout(ctx, p, started, first, log) {
				enrolledLater.Store(true)
				cancel()
			}
		}()
	}
	if hc, ok := hcm.FromConfig(cfg, relayURL(enr)); ok {
		var awake hcm.KeepAwake
		if ka, err := hcm.NewKeepAwake(); err == nil {
			awake = ka
		} else {
			log.Warn("keep-awake is not available on this PC", "err", err)
		}
		var events eventlog.Writer
		if ev, closeEv, err := eventlog.Open(); err == nil {
			events = ev
			defer closeEv()
		} else {
			log.Warn("the Windows event log is not available; HCM changes go to the agent log only", "err", err)
		}
		m := hcm.New(hc, hcm.ServiceFromConfig(cfg), awake, events, log.With("component", "hcm"))
		aopt.Checks.HCM = health.Probe{Name: hcm.CheckService, Title: "Hybrid Connection Manager",
			Run: func(context.Context) []health.Check { return m.Checks() }}
		wg.Add(1)
		go func() { defer wg.Done(); _ = m.Run(ctx) }()
	}

	a, err := agent.New(ctx, aopt)
	if err != nil {
		return false, err
	}
	defer a.Close()

	addr := opt.Listen
	if addr == "" {
		addr = localapi.DefaultAddress(p.DataDir)
	}
	l, err := listenAPI(addr)
	if err != nil {
		return false, err
	}
	// NewServer asks the OS who opened each connection, so launches reach only the
	// tray of the Windows session and user they came from.
	api := localapi.NewServer(localapi.NewHandler(a, a.Log()))
	serve(&wg, api, l, log)
	defer shutdown(api)

	launchAddr := opt.LaunchListen
	if launchAddr == "" {
		launchAddr = cfg.LaunchListen
	}
	if launchAddr != "" {
		ll, err := listenLoopback(launchAddr)
		if err != nil {
			return false, err
		}
		web := localapi.NewServer(localapi.NewLaunchPage(a.OpenWebLaunch, a.Log()))
		serve(&wg, web, ll, log)
		defer shutdown(web)
	}
	log.Info("agent started", "version", version.Version, "enrolled", enr != nil, "folders", len(cfg.Folders))
	ready()
	close(started)
	err = a.Run(ctx)
	log.Info("agent stopping")
	return enrolledLater.Load(), err
}

// listenAPI accepts "tcp:127.0.0.1:PORT" for tests and tools; anything else is the
// platform transport (named pipe or unix socket path).
func listenAPI(addr string) (net.Listener, error) {
	if rest, ok := strings.CutPrefix(addr, "tcp:"); ok {
		return listenLoopback(rest)
	}
	return localapi.Listen(addr)
}

// listenLoopback refuses anything but a loopback address: these listeners have no
// authentication and must never face the practice network.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%q is not host:port: use e.g. 127.0.0.1:41357", addr)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%q is not a loopback address: use 127.0.0.1 so only this PC can connect", addr)
	}
	return net.Listen("tcp", addr)
}

func serve(wg *sync.WaitGroup, srv *http.Server, l net.Listener, log *slog.Logger) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("a listener stopped", "err", err)
		}
	}()
}

func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Event streams never end by themselves; Close cuts them after the grace period.
	if srv.Shutdown(ctx) != nil {
		srv.Close()
	}
}
