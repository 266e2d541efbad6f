package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/doctor"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/secret"
)

// cmdDoctor runs the checks live. When the agent answers, its own view (relay,
// uploads, folders, HCM as the service sees them) is the truth; when it does not,
// doctor checks what it can from here so practice IT still gets a diagnosis.
// Exit codes are status's (the one table in cli.go): 0 fine, 1 degraded, 4 offline
// to Medtech. --bundle FILE also writes the diagnostics zip for support, from the
// agent when it answers and from what doctor found itself when it does not.
func cmdDoctor(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("doctor", env)
	bundle := fs.String("bundle", "", "also write a diagnostics bundle (a zip for ClinicPro support) to this file")
	if pos, ok := parse(fs, args); !ok || len(pos) > 0 {
		return usageErr(env, "usage: clinicpro doctor [--json] [--bundle FILE.zip]")
	}
	cl := c.client(env)
	defer cl.Close()
	p := c.paths()
	var agentChecks []health.Check
	ping := func(ctx context.Context) error {
		st, err := cl.Status(ctx)
		if err == nil {
			agentChecks = st.Health.Checks
		}
		return err
	}
	agentCheck := checks.Agent(ctx, ping)
	probes := []doctor.Probe{{Name: checks.NameAgent, Title: "ClinicPro agent", Run: func(context.Context) []health.Check {
		return append([]health.Check{agentCheck}, agentChecks...)
	}}}
	if agentChecks == nil {
		probes = append(probes, localProbes(p)...)
	}
	r := doctor.Run(ctx, time.Now(), 20*time.Second, probes...)
	if c.json {
		_ = doctor.WriteJSON(env.Stdout, r)
	} else {
		_ = doctor.Render(env.Stdout, r, time.Local)
	}
	if *bundle != "" {
		if err := writeBundle(ctx, cl, agentChecks != nil, p, r, *bundle); err != nil {
			return fail(env, c, err)
		}
		fmt.Fprintf(env.Stderr, "Diagnostics bundle written to %s: send it to ClinicPro support.\n", *bundle)
	}
	return healthExit(r)
}

// writeBundle writes the diagnostics zip to path: the agent's own when it answers
// (its log ring and its view of every check), else one from this run's checks, the
// configuration and the tail of the agent's log file.
func writeBundle(ctx context.Context, cl *localapi.Client, agentUp bool, p config.Paths, r health.Report, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write the diagnostics bundle: %w", err)
	}
	if agentUp {
		err = cl.DiagnosticsBundle(ctx, f)
	} else {
		var cfg any
		if loaded, lerr := config.Load(p.ConfigFile); lerr == nil {
			cfg = loaded
		}
		err = doctor.WriteBundle(f, doctor.BundleInput{At: time.Now(), Report: r, Config: cfg, Loc: time.Local,
			LogLines: logTail(filepath.Join(p.LogDir(), "agent.log"), 300)})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("cannot write the diagnostics bundle: %w", err)
	}
	return nil
}

// logTail returns the last n lines of a log file (from its last 512 KiB), or none.
func logTail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const window = 512 << 10
	if st, err := f.Stat(); err == nil && st.Size() > window {
		_, _ = f.Seek(st.Size()-window, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, window))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// localProbes check configuration, enrolment, the relay, disk and folders from
// this process. The disk, folder and relay probes are doctor.Probes, the same ones
// the agent runs, with the agent's free-space floor, so `clinicpro status` and
// `clinicpro doctor` cannot disagree about the same disk.
func localProbes(p config.Paths) []doctor.Probe {
	cfgCheck := health.Check{Name: "config", Title: "Configuration file", Critical: true}
	cfg, err := config.Load(p.ConfigFile)
	if err != nil {
		cfgCheck.State, cfgCheck.Detail = health.Offline, err.Error()
		cfgCheck.Fix = "Correct the line named above, then start the agent again."
	} else {
		cfgCheck.State, cfgCheck.Detail = health.OK, "valid"
	}
	out := []doctor.Probe{{Name: "config", Title: "Configuration file", Run: func(context.Context) []health.Check { return []health.Check{cfgCheck} }}}
	deps := doctor.Deps{SpoolDir: p.DataDir, MinFree: agent.MinFreeSpool}
	if cfg != nil {
		for _, f := range cfg.Folders {
			deps.Folders = append(deps.Folders, doctor.Folder{Label: f.Label, Path: f.Path})
		}
	}
	creds, err := secret.NewStore(p.DataDir).Load()
	if err != nil {
		out = append(out, doctor.Probe{Name: agent.CheckEnrolled, Title: "Enrolment", Run: func(context.Context) []health.Check {
			return []health.Check{{Name: agent.CheckEnrolled, Title: "Enrolment", State: health.Offline, Critical: true, Detail: err.Error(),
				Fix: agent.FixNotEnrolled}}
		}})
		return append(out, doctor.Probes(deps)...)
	}
	url := creds.RelayURL
	if cfg != nil && cfg.RelayURL != "" {
		url = cfg.RelayURL
	}
	if rc, err := client.New(url, client.Credentials{ClientID: creds.ClientID, Secret: creds.Secret, Facility: creds.Facility}); err == nil {
		deps.Relay = rc
	}
	return append(out, doctor.Probes(deps)...)
}
