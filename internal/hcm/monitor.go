package hcm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/eventlog"
	"github.com/clinicpro/medtech-images/internal/health"
)

// Check names produced by the Monitor.
const (
	CheckService   = "hcm.service"
	CheckTunnel    = "hcm.tunnel"
	CheckKeepAwake = "hcm.keepawake"
	CheckClock     = "clock"
)

// Fix sentences, also listed in docs/troubleshooting.md.
const (
	FixServiceStopped   = "Start the \"Azure Hybrid Connection Manager Service\" in Services on this PC (the agent starts it by itself after a minute, unless its restarts are used up)."
	FixServiceMissing   = "Install the Azure Hybrid Connection Manager on this PC, or set host = false under [hcm] in the agent's configuration if HCM runs on another PC."
	FixServiceUnread    = "Run `clinicpro doctor` as an administrator, and check that the ClinicPro agent service runs as LocalSystem."
	FixRestartsUsedUp   = "The agent stopped restarting it after too many tries this hour: open the Hybrid Connection Manager's event log (Microsoft-ServiceBus-Client) to see why it stops."
	FixTunnelDown       = "Medtech is not reachable: the Hybrid Connection Manager is running but not connected to Azure. Restart the \"Azure Hybrid Connection Manager Service\" and check that this PC can reach *.servicebus.windows.net on port 443."
	FixDNS              = "This PC cannot resolve the Azure Relay namespace: check its DNS server settings, or ask IT to allow *.servicebus.windows.net."
	FixFirewall         = "This PC cannot open a connection to Azure Relay on port 443: ask IT to allow outbound TCP 443 to *.servicebus.windows.net in the firewall or proxy."
	FixTLS              = "The connection to Azure Relay is intercepted or broken (TLS failed): exempt *.servicebus.windows.net from the proxy's HTTPS inspection."
	FixClock            = "This PC's clock is wrong, which makes Azure Relay refuse the Hybrid Connection Manager: turn on \"Set time automatically\" in Windows date and time settings."
	FixClockUnread      = "Check that this PC can reach the ClinicPro relay; the clock is compared against it."
	FixKeepAwake        = "Windows refused to keep this PC awake: set its power plan to never sleep during clinic hours."
	FixSlept            = "Set this PC's power plan to never sleep (Control Panel > Power Options) so Medtech can reach the practice all day."
	FixRestarted        = "Find out why this PC restarted; for Windows Update, set its active hours (Settings > Windows Update > Advanced options) to cover clinic hours."
	FixTunnelUnreadable = "Run the ClinicPro agent as LocalSystem so it can see the Hybrid Connection Manager's connections."
)

// Config is the Monitor's part of the agent configuration.
type Config struct {
	// ServiceName of HCM; DefaultServiceName when empty.
	ServiceName string
	// Interval between polls; 30 s when zero.
	Interval time.Duration
	Recovery Policy
	// TunnelPort is the remote port of HCM's relay connections; RelayPort when zero.
	TunnelPort int
	// Namespace is the Azure Relay namespace (xxx.servicebus.windows.net) to probe
	// with DNS, TCP and TLS; no probe when empty.
	Namespace string
	ProbePort int         // RelayPort when zero
	ProbeTLS  *tls.Config // nil: system roots
	Resolver  Resolver    // nil: net.DefaultResolver
	// ClockURL is a URL whose Date header is trusted (the relay's /v1/health); no
	// clock check when empty.
	ClockURL   string
	HTTPClient *http.Client  // nil: http.DefaultClient
	MaxSkew    time.Duration // 2 min when zero
	// ClinicHours in which the PC is kept awake (config.ClinicHours); no keep-awake
	// when nil.
	ClinicHours Schedule
	// SleepReport is how long a detected sleep keeps hcm.keepawake degraded; 1 h when zero.
	SleepReport time.Duration
}

func (c *Config) defaults() {
	if c.ServiceName == "" {
		c.ServiceName = DefaultServiceName
	}
	if c.Interval <= 0 {
		c.Interval = 30 * time.Second
	}
	if c.TunnelPort == 0 {
		c.TunnelPort = RelayPort
	}
	if c.ProbePort == 0 {
		c.ProbePort = RelayPort
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.MaxSkew <= 0 {
		c.MaxSkew = 2 * time.Minute
	}
	if c.SleepReport <= 0 {
		c.SleepReport = time.Hour
	}
}

// Monitor polls HCM and produces its health checks. Poll runs one round; Run polls
// until its context ends. Changes go to the event log and to OnChange.
type Monitor struct {
	cfg    Config
	svc    ServiceMonitor
	awake  KeepAwake
	log    *slog.Logger
	events eventlog.Writer

	// Now is the clock; tests replace it. It must return times carrying a monotonic
	// reading for sleep detection to work.
	Now func() time.Time
	// Conns lists a process's established connections to a port; EstablishedTo
	// unless a test replaces it.
	Conns func(ctx context.Context, pid, port int) ([]string, error)
	// OnChange, when set, is called for every check that changed state, inside
	// Poll: it must not call Poll.
	OnChange func(health.Change)
	// BootTime returns when the host last started; gopsutil's unless a test
	// replaces it.
	BootTime func(ctx context.Context) (time.Time, error)

	mu   sync.Mutex // guards last
	last []health.Check

	poll        sync.Mutex // serialises rounds; guards the fields below
	tracker     health.Tracker
	rec         recovery
	lastPoll    time.Time
	held        bool
	sleptFrom   time.Time
	sleptTo     time.Time
	lastRestart time.Time
	restartErr  error
}

// New returns a Monitor. awake may be nil: then there is no keep-awake check, which
// is what a one-shot `clinicpro doctor` in a user's console wants. events may be nil
// (slog only).
func New(cfg Config, svc ServiceMonitor, awake KeepAwake, events eventlog.Writer, log *slog.Logger) *Monitor {
	cfg.defaults()
	if log == nil {
		log = slog.Default()
	}
	if events == nil {
		events = eventlog.Slog{Log: log}
	}
	return &Monitor{cfg: cfg, svc: svc, awake: awake, log: log, events: events,
		Now: time.Now, Conns: EstablishedTo, BootTime: bootTime, rec: recovery{p: cfg.Recovery}}
}

// Checks returns the latest round's checks (nil before the first Poll).
func (m *Monitor) Checks() []health.Check {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]health.Check(nil), m.last...)
}

// Run polls at once and then every Interval until ctx ends, then releases the
// keep-awake.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		m.Poll(ctx)
		select {
		case <-ctx.Done():
			if m.awake != nil {
				_ = m.awake.Release()
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll runs one round of every check, restarting the service when the policy says
// so, and returns the checks.
func (m *Monitor) Poll(ctx context.Context) []health.Check {
	m.poll.Lock()
	defer m.poll.Unlock()
	// A round must end before the next is due, whatever the network does.
	ctx, cancel := context.WithTimeout(ctx, min(m.cfg.Interval, 20*time.Second))
	defer cancel()
	now := m.Now()
	st, svcCheck := m.serviceCheck(ctx, now)
	checks := []health.Check{svcCheck, m.tunnelCheck(ctx, st)}
	if m.cfg.ClinicHours != nil && m.awake != nil {
		checks = append(checks, m.keepAwakeCheck(ctx, now))
	}
	if m.cfg.ClockURL != "" {
		checks = append(checks, m.clockCheck(ctx))
	}
	checks, changes := m.tracker.Update(now, checks)
	for _, c := range changes {
		if c.From == health.Unknown && c.To == health.OK {
			continue // starting up healthy is not news
		}
		if err := eventlog.RecordChange(m.events, c); err != nil {
			m.log.Warn("event log write failed", "err", err)
		}
		m.log.Info("health changed", "check", c.Name, "from", string(c.From), "to", string(c.To), "detail", c.Detail)
		if m.OnChange != nil {
			m.OnChange(c)
		}
	}
	m.mu.Lock()
	m.last = checks
	m.mu.Unlock()
	return append([]health.Check(nil), checks...)
}

func (m *Monitor) serviceCheck(ctx context.Context, now time.Time) (Status, health.Check) {
	c := health.Check{Name: CheckService, Title: "Hybrid Connection Manager", Critical: true}
	st, err := m.svc.State(ctx, m.cfg.ServiceName)
	if err != nil {
		c.State, c.Detail, c.Fix = health.Unknown, "Could not read the Hybrid Connection Manager service: "+err.Error()+".", FixServiceUnread
		return st, c
	}
	if m.rec.observe(now, st.State) {
		m.restart(ctx, now, st)
		if after, err := m.svc.State(ctx, m.cfg.ServiceName); err == nil {
			st = after
		}
	}
	switch st.State {
	case Running:
		c.State, c.Detail = health.OK, "running"
		if st.PID != 0 {
			c.Detail = fmt.Sprintf("running as process %d", st.PID)
		}
		if !m.lastRestart.IsZero() && now.Sub(m.lastRestart) < time.Hour {
			c.Detail += fmt.Sprintf("; restarted by the agent at %s", m.lastRestart.Format("15:04"))
		}
	case StartPending, ContinuePending:
		c.State, c.Detail = health.Degraded, "The Hybrid Connection Manager service is starting."
	case NotInstalled:
		c.State, c.Detail, c.Fix = health.Offline, "The Hybrid Connection Manager service is not installed on this PC.", FixServiceMissing
	case StateUnknown:
		c.State, c.Detail, c.Fix = health.Unknown, "The state of the Hybrid Connection Manager service is unknown.", FixServiceUnread
	default: // stopped, stopping, paused, pausing
		c.State = health.Offline
		c.Detail = fmt.Sprintf("The Hybrid Connection Manager service is %s, so Medtech cannot reach this practice.", st.State)
		c.Fix = FixServiceStopped
		switch {
		case m.restartErr != nil && now.Sub(m.lastRestart) < time.Hour:
			c.Detail += " The agent could not start it: " + m.restartErr.Error() + "."
		case st.State == Stopped && m.rec.exhausted(now):
			c.Fix = FixRestartsUsedUp
		case st.State == Stopped && m.rec.p.Enabled:
			c.Detail += " The agent will start it after " + minutes(m.rec.p.Grace) + " stopped."
		}
	}
	return st, c
}

// restart starts the service and records the attempt in slog and the event log.
func (m *Monitor) restart(ctx context.Context, now time.Time, st Status) {
	m.rec.started(now)
	m.lastRestart = now
	name := st.Name
	if name == "" {
		name = m.cfg.ServiceName
	}
	m.restartErr = m.svc.Start(ctx, name)
	if m.restartErr != nil {
		m.log.Error("could not restart Hybrid Connection Manager", "service", name, "err", m.restartErr)
		_ = m.events.Error(eventlog.IDRestartFailed, fmt.Sprintf("ClinicPro could not start the stopped service %s: %v", name, m.restartErr))
		return
	}
	m.log.Warn("restarted Hybrid Connection Manager", "service", name, "restarts_this_hour", m.rec.inLastHour(now))
	_ = m.events.Warning(eventlog.IDServiceRestart, fmt.Sprintf("ClinicPro started the stopped service %s (restart %d of at most %d this hour).", name, m.rec.inLastHour(now), m.rec.p.MaxPerHour))
}

func (m *Monitor) tunnelCheck(ctx context.Context, st Status) health.Check {
	c := health.Check{Name: CheckTunnel, Title: "Azure Relay tunnel", Critical: true}
	if st.State == StateUnknown || st.State == "" {
		c.State, c.Detail = health.Unknown, "Not checked: the Hybrid Connection Manager's state is unknown."
		return c
	}
	if st.State != Running {
		c.State, c.Detail, c.Fix = health.Offline, "No tunnel to Azure Relay: the Hybrid Connection Manager is not running.", FixServiceStopped
		return c
	}
	if m.cfg.Namespace != "" {
		if err := Probe(ctx, m.cfg.Resolver, m.cfg.Namespace, m.cfg.ProbePort, m.cfg.ProbeTLS); err != nil {
			c.State, c.Detail = health.Offline, fmt.Sprintf("This PC cannot reach Azure Relay (%s).", err)
			var pe *ProbeError
			c.Fix = FixFirewall
			if errors.As(err, &pe) {
				switch pe.Step {
				case "dns":
					c.Fix = FixDNS
				case "tls":
					c.Fix = FixTLS
				}
			}
			return c
		}
	}
	if st.PID == 0 {
		c.State, c.Detail = health.Unknown, "The service's process is not known, so its connections cannot be checked."
		if m.cfg.Namespace != "" {
			c.State, c.Detail = health.OK, "Azure Relay is reachable from this PC"
		}
		return c
	}
	conns, err := m.Conns(ctx, st.PID, m.cfg.TunnelPort)
	if err != nil {
		c.State, c.Detail, c.Fix = health.Unknown, "Could not read the Hybrid Connection Manager's connections.", FixTunnelUnreadable
		return c
	}
	if len(conns) == 0 {
		c.State, c.Detail, c.Fix = health.Offline, fmt.Sprintf("The Hybrid Connection Manager has no connection to Azure Relay on port %d.", m.cfg.TunnelPort), FixTunnelDown
		return c
	}
	c.State, c.Detail = health.OK, fmt.Sprintf("%d connection(s) to Azure Relay", len(conns))
	return c
}

func (m *Monitor) keepAwakeCheck(ctx context.Context, now time.Time) health.Check {
	c := health.Check{Name: CheckKeepAwake, Title: "Keep awake in clinic hours"}
	m.detectSleep(now)
	boot, bootErr := m.BootTime(ctx)
	in := m.cfg.ClinicHours.Contains(now)
	var err error
	if in != m.held {
		if in {
			err = m.awake.Hold()
		} else {
			err = m.awake.Release()
		}
		if err == nil {
			m.held = in
			m.log.Info("keep-awake changed", "held", in)
		}
	}
	switch {
	case err != nil:
		c.State, c.Detail, c.Fix = health.Degraded, "This PC cannot be kept awake in clinic hours: "+err.Error()+".", FixKeepAwake
	case !m.sleptTo.IsZero() && now.Sub(m.sleptTo) < m.cfg.SleepReport:
		c.State, c.Fix = health.Degraded, FixSlept
		c.Detail = fmt.Sprintf("This PC slept or was suspended from %s to %s; Medtech could not reach the practice meanwhile.", m.sleptFrom.Format("15:04"), m.sleptTo.Format("15:04"))
	case bootErr == nil && now.Sub(boot) < m.cfg.SleepReport && now.Sub(boot) >= 0 && m.cfg.ClinicHours.Contains(boot.In(now.Location())):
		c.State, c.Fix = health.Degraded, FixRestarted
		c.Detail = fmt.Sprintf("This PC restarted at %s, during clinic hours; Medtech could not reach the practice while it was down.", boot.In(now.Location()).Format("15:04"))
	case in:
		c.State, c.Detail = health.OK, "keeping this PC awake in clinic hours"
	default:
		c.State, c.Detail = health.OK, "outside clinic hours; the PC may sleep"
	}
	return c
}

// detectSleep compares wall-clock time since the last poll with the monotonic
// clock and the poll interval: a suspended PC neither ticks nor (on most systems)
// advances the monotonic clock, so either gap gives it away.
func (m *Monitor) detectSleep(now time.Time) {
	prev := m.lastPoll
	m.lastPoll = now
	if prev.IsZero() {
		return
	}
	wall := now.Round(0).Sub(prev.Round(0))
	mono := now.Sub(prev)
	slack := m.cfg.Interval + time.Minute
	if wall-mono > time.Minute || wall > 2*m.cfg.Interval+slack {
		m.sleptFrom, m.sleptTo = prev.Add(mono), now
		if wall-mono <= time.Minute {
			m.sleptFrom = prev.Add(m.cfg.Interval)
		}
		m.log.Warn("this PC slept or was suspended", "from", m.sleptFrom.Format(time.RFC3339), "to", now.Format(time.RFC3339))
		_ = m.events.Warning(eventlog.IDSleep, fmt.Sprintf("This PC slept or was suspended from %s to %s.", m.sleptFrom.Format(time.RFC3339), now.Format(time.RFC3339)))
	}
}

func (m *Monitor) clockCheck(ctx context.Context) health.Check {
	c := health.Check{Name: CheckClock, Title: "System clock"}
	skew, err := clockSkew(ctx, m.cfg.HTTPClient, m.cfg.ClockURL)
	if err != nil {
		c.State, c.Detail, c.Fix = health.Unknown, "Could not compare this PC's clock with the relay.", FixClockUnread
		return c
	}
	abs := skew
	if abs < 0 {
		abs = -abs
	}
	if abs > m.cfg.MaxSkew {
		dir := "ahead"
		if skew < 0 {
			dir = "behind"
		}
		c.State, c.Fix = health.Degraded, FixClock
		c.Detail = fmt.Sprintf("This PC's clock is %s %s.", abs, dir)
		return c
	}
	c.State, c.Detail = health.OK, fmt.Sprintf("within %s of the relay", abs)
	return c
}

// minutes writes a grace period the way a person says it.
func minutes(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 2*time.Minute:
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", int(d.Round(time.Minute)/time.Minute))
}

// Schedule says whether a time is inside clinic hours; config.ClinicHours is one.
type Schedule interface {
	Contains(t time.Time) bool
}
