package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/agent/diagnostics"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/hcm"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/profiles"
	"github.com/clinicpro/medtech-images/internal/rollout"
	"github.com/clinicpro/medtech-images/internal/secret"
)

// CheckupTimeout bounds each probe of a checkup.
const CheckupTimeout = 20 * time.Second

// Checkup runs the agent's check catalogue from this process, for `clinicpro doctor`
// when the agent does not answer: the configuration file, then the same catalogue
// the agent runs (internal/health/checks), built from what can be read without it:
// the relay with the stored credentials, the spool disk, each watched folder as this
// user sees it, the installer's enrolment and, on the HCM host, one look at HCM
// (never a restart). The queue and the uploader live in the agent and are left out.
func Checkup(ctx context.Context, p config.Paths) []health.Check {
	cfgCheck := health.Check{Name: checks.NameConfig, Title: "Configuration file", Critical: true, State: health.OK, Detail: "valid"}
	cfg, err := config.Load(p.ConfigFile)
	if err != nil {
		cfgCheck.State, cfgCheck.Detail, cfgCheck.Fix = health.Offline, err.Error(), checks.FixConfig
		cfg = nil
	}
	d := checks.Deps{SpoolDir: p.DataDir}
	creds, credErr := secret.NewStore(p.DataDir).Load()
	var url string
	switch {
	case errors.Is(credErr, secret.ErrNotEnrolled):
	case credErr != nil:
		d.NotEnrolled = credErr.Error()
	default:
		c := cfg
		if c == nil {
			c = &config.Config{} // the credentials' relay, as the configuration cannot say
		}
		if e, err := enrolment(c, creds); err == nil {
			d.Relay, url = e.Relay, e.URL
		} else {
			d.NotEnrolled = err.Error()
		}
	}
	enrolled := d.Relay != nil
	d.Rollout = health.Probe{Name: rollout.CheckEnrol, Title: "Enrolment from the installer", Run: func(context.Context) []health.Check {
		return rollout.Checks(p.DataDir, enrolled)
	}}
	if cfg != nil {
		// The folders every user shares, as the agent watches them; each user's own
		// (in their profile) are seen only by the agent, which follows sign-ins.
		for _, f := range agent.SharedFolders(cfg.Folders, profiles.System()) {
			d.Folders = append(d.Folders, checks.WatchedFolder{Label: f.Label, Path: f.Path})
		}
		if hc, ok := hcm.FromConfig(cfg, url); ok {
			// A look, not the agent's care: no restarts, no keep-awake, no events.
			hc.Recovery.Enabled = false
			m := hcm.New(hc, hcm.ServiceFromConfig(cfg), nil, nil, slog.New(slog.DiscardHandler))
			d.HCM = health.Probe{Name: hcm.CheckService, Title: "Hybrid Connection Manager", Run: m.Poll}
		}
	}
	out := []health.Check{cfgCheck}
	for _, cs := range health.RunProbes(ctx, CheckupTimeout, checks.Catalogue(d)) {
		out = append(out, cs...)
	}
	return out
}

// WriteBundle writes the diagnostics zip when the agent, which keeps its own, does
// not answer: the report doctor made, the configuration and the tail of the agent's
// log file.
func WriteBundle(w io.Writer, p config.Paths, r health.Report) error {
	var cfg any
	if loaded, err := config.Load(p.ConfigFile); err == nil {
		cfg = loaded
	}
	return diagnostics.WriteBundle(w, diagnostics.BundleInput{At: time.Now(), Report: r, Config: cfg, Loc: time.Local,
		LogLines: diagnostics.LogTail(logFile(p), 300)})
}
