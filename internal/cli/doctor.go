package cli

import (
	"context"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/doctor"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/secret"
)

// cmdDoctor runs the checks live. When the agent answers, its own view (relay,
// uploads, folders, HCM as the service sees them) is the truth; when it does not,
// doctor checks what it can from here so practice IT still gets a diagnosis.
// Exit codes are internal/doctor's: 0 fine, 1 degraded, 2 offline to Medtech.
func cmdDoctor(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("doctor", env)
	if pos, ok := parse(fs, args); !ok || len(pos) > 0 {
		return usageErr(env, "doctor takes no arguments")
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
	return doctor.ExitCode(r)
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
