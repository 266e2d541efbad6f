package cli

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
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/rollout"
	"github.com/clinicpro/medtech-images/internal/secret"
	"github.com/clinicpro/medtech-images/internal/version"
)

// runFlags are the agent's own options, shared by `run` and `service run`.
type runFlags struct {
	launchAddr string
	listen     string
}

func (r *runFlags) add(fsAdd func(p *string, name, value, usage string)) {
	fsAdd(&r.launchAddr, "launch-listen", "", "serve Medtech web launch URLs on this loopback address, e.g. 127.0.0.1:41357 (default: launch_listen in the configuration)")
	fsAdd(&r.listen, "listen", "", "local API address (default: the named pipe, or agent.sock in the data directory)")
}

func cmdRun(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("run", env)
	var rf runFlags
	rf.add(fs.StringVar)
	if pos, ok := parse(fs, args); !ok || len(pos) > 0 {
		return usageErr(env, "usage: clinicpro run [--data DIR] [--launch-listen 127.0.0.1:PORT]")
	}
	if err := runAgent(ctx, c.paths(), rf, env.Stderr, nil); err != nil {
		fmt.Fprintln(env.Stderr, "clinicpro: "+err.Error())
		return ExitFailed
	}
	return ExitOK
}

// openLog writes the agent's log to stderr (when w is not nil) and to agent.log in
// the data directory, which the diagnostics bundle and practice IT read. The file is
// rolled once at start-up past 10 MB, which is weeks of normal logging. It is
// redacted but still says which folders, relay and services this practice runs, so
// only the agent's account (and administrators) may read it.
func openLog(p config.Paths, w io.Writer) (*slog.Logger, func(), error) {
	f, err := logfile.Open(filepath.Join(p.LogDir(), "agent.log"), 10<<20, 0o600)
	if err != nil {
		return nil, nil, err
	}
	var out io.Writer = f
	if w != nil {
		out = io.MultiWriter(f, w)
	}
	return slog.New(redact.NewHandler(slog.NewTextHandler(out, nil))), func() { f.Close() }, nil
}

// rolloutRetry is how often values the installer left are tried again while the
// relay cannot be reached.
var rolloutRetry = 2 * time.Minute

// runAgent is the agent process: configuration, credentials, the agent, its local
// API and the optional web launch listener, until ctx ends. When the installer's
// enrolment succeeds only after start (the relay was unreachable, or the first start
// left it for after ready), the agent starts again in-process so it connects with
// the new credentials.
//
// ready (may be nil) is called once, when the data folder, configuration, queue,
// named pipe and launch listener are all open and nothing has needed the network:
// the service reports "running" only then, so a start that cannot work fails where
// Windows Installer sees it and rolls the install or upgrade back.
func runAgent(ctx context.Context, p config.Paths, rf runFlags, stderr io.Writer, ready func()) error {
	var once sync.Once
	signal := func() {
		if ready != nil {
			once.Do(ready)
		}
	}
	// Before anything is read from or written to the data folder: it holds patient
	// identifiers (the queue) and the relay credentials, and a folder someone else
	// created could feed the agent their configuration.
	datadir.RestrictNewFiles()
	secured, err := datadir.Secure(p.DataDir)
	if err != nil {
		return err
	}
	log, closeLog, err := openLog(p, stderr)
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
		reload, err := runAgentOnce(ctx, p, rf, log, first, signal)
		if !reload || ctx.Err() != nil {
			return err
		}
		log.Info("enrolled from the installer's settings; starting again to connect")
	}
}

// applyRollout merges what the installer left into the configuration and enrols
// with its code unless enrolled says credentials are already stored. It never fails
// the start: the service must run (the MSI waits for it) with no network and no
// relay. When this call enrols, it returns the credentials it stored so the caller
// need not read and decrypt them again.
func applyRollout(ctx context.Context, p config.Paths, enrolled bool, log *slog.Logger) (rollout.Result, secret.Credentials) {
	return applyRolloutNow(ctx, p, enrolled, true, log)
}

// errNotYet stands in for the relay on the first start: enrolment waits until the
// agent is running (see runAgent's ready).
var errNotYet = errors.New("enrolment waits until the agent is running")

// applyRolloutNow is applyRollout; without network it merges the values but leaves
// the enrolment pending for the retry that follows the start.
func applyRolloutNow(ctx context.Context, p config.Paths, enrolled, network bool, log *slog.Logger) (rollout.Result, secret.Credentials) {
	var fresh secret.Credentials
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := rollout.Apply(ctx, rollout.System(p.DataDir), rollout.Options{
		ConfigFile: p.ConfigFile, DataDir: p.DataDir, Enrolled: enrolled,
		Enrol: func(ctx context.Context, url, code string) error {
			if !network {
				return errNotYet
			}
			c, err := enrolAndStore(ctx, p, url, code)
			if err == nil {
				fresh = secret.Credentials{RelayURL: url, ClientID: c.ClientID, Secret: c.Secret, Facility: c.Facility}
			}
			return err
		},
		Refused: func(err error) bool { return !errors.Is(err, errNotYet) && codeRefused(err) },
	})
	switch {
	case err != nil:
		log.Error("the installer's settings could not be applied", "err", err)
	case res.Pending && !network:
		log.Info("applied the installer's settings; enrolling with its code once the agent is running")
	case res.Pending:
		log.Warn("the relay could not be reached to enrol with the installer's code; trying again every few minutes")
	case res.Refusal != "":
		log.Error("the relay refused the installer's enrolment code", "reason", res.Refusal)
	case res.Enrolled:
		log.Info("enrolled with the installer's code")
	case res.Found:
		log.Info("applied the installer's settings")
	}
	for _, f := range res.Skipped {
		log.Warn("a watch folder from the installer is not a full path and is not watched", "folder", f)
	}
	return res, fresh
}

// codeRefused: only an answer from the relay that refuses the request (4xx) means
// the code will never work; no answer or a server error is worth another try.
func codeRefused(err error) bool {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Kind == client.Permanent
	}
	return true // an unusable relay address does not get better either
}

func runAgentOnce(ctx context.Context, p config.Paths, rf runFlags, log *slog.Logger, first bool, ready func()) (reload bool, err error) {
	// Loaded once per start: on Windows every Load is a DPAPI decryption.
	store := secret.NewStore(p.DataDir)
	creds, credErr := store.Load()
	// On the first start the relay is not asked yet: the service must report running
	// without the network (the MSI waits for it), so enrolment follows at once after.
	ro, fresh := applyRolloutNow(ctx, p, credErr == nil, !first, log)
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
	opt := agent.Options{Paths: p, Config: cfg, Log: log, HealthInterval: cfg.HealthInterval.D()}
	opt.Checks = append(opt.Checks, func() []health.Check { return rollout.Checks(p.DataDir, opt.Relay != nil) })
	switch {
	case errors.Is(credErr, secret.ErrNotEnrolled):
		log.Warn("not enrolled: files are taken and queued but wait until `clinicpro enrol` is run")
	case credErr != nil:
		return false, credErr
	default:
		url := cfg.RelayURL
		if url == "" {
			url = creds.RelayURL
		}
		rc, err := client.New(url, client.Credentials{ClientID: creds.ClientID, Secret: creds.Secret, Facility: creds.Facility})
		if err != nil {
			return false, err
		}
		opt.Relay, opt.Uploads, opt.Phone = rc, &agent.RelayUploads{C: rc}, rc
		opt.RelayURL, opt.Facility = url, creds.Facility
	}

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
			select {
			case <-ctx.Done():
				return
			case <-started:
			}
			wait := rolloutRetry
			if first {
				wait = 0
			}
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				wait = rolloutRetry
				// Read again: `clinicpro enrol` may have been run by hand since the start,
				// and the installer's code must not replace those credentials.
				_, err := store.Load()
				if r, _ := applyRollout(ctx, p, err == nil, log); !r.Pending {
					if r.Enrolled {
						enrolledLater.Store(true)
						cancel()
					}
					return
				}
			}
		}()
	}
	if hc, ok := hcm.FromConfig(cfg); ok {
		if hc.ClockURL == "" && opt.RelayURL != "" {
			hc.ClockURL = strings.TrimRight(opt.RelayURL, "/") + "/healthz"
		}
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
		opt.Checks = append(opt.Checks, func() []health.Check { return m.Checks() })
		wg.Add(1)
		go func() { defer wg.Done(); _ = m.Run(ctx) }()
	}

	a, err := agent.New(ctx, opt)
	if err != nil {
		return false, err
	}
	defer a.Close()

	addr := rf.listen
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

	launchAddr := rf.launchAddr
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
	log.Info("agent started", "version", version.Version, "enrolled", opt.Relay != nil, "folders", len(cfg.Folders))
	ready()
	close(started)
	err = a.Run(ctx)
	log.Info("agent stopping")
	return enrolledLater.Load(), err
}

// listenAPI accepts "tcp:127.0.0.1:PORT" for tests and tools; anything else is the
// platform transport (named pipe or unix socket path).
func listenAPI(addr string) (net.Listener, error) {
	if rest, ok := cutPrefix(addr, "tcp:"); ok {
		return listenLoopback(rest)
	}
	return localapi.Listen(addr)
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
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

// reportEvent writes one entry to the Windows Event Log under the registered source
// (elsewhere: to the default logger). Failures to write are ignored: the entry is a
// copy of what the agent's log already says.
func reportEvent(id uint32, isError bool, msg string) {
	// Paths can carry a file name with an NHI in it (a watched folder inside the data
	// folder, a planted file): scrubbed like every other log line.
	msg = redact.String(msg)
	w, closeFn, err := eventlog.Open()
	if err != nil {
		return
	}
	defer closeFn()
	if isError {
		_ = w.Error(id, msg)
	} else {
		_ = w.Warning(id, msg)
	}
}

// reportStartFailure puts the reason the agent could not start where practice IT and
// their monitoring look: the Application log, with an id of its own for a data
// folder someone else owns.
func reportStartFailure(err error) {
	id := eventlog.IDStartFailed
	switch {
	case errors.Is(err, datadir.ErrUntrusted):
		id = eventlog.IDDataRefused
	case errors.Is(err, localapi.ErrPipeTaken):
		id = eventlog.IDPipeTaken
	}
	reportEvent(id, true, "ClinicPro Agent could not start: "+err.Error())
}
