package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent/daemon"
	"github.com/clinicpro/medtech-images/internal/doctor"
	"github.com/clinicpro/medtech-images/internal/health"
)

// cmdDoctor shows the agent's checks with their fixes: the running agent's own view
// (relay, uploads, folders, HCM as the service sees them), or, when it does not
// answer, the same catalogue run from here, so practice IT still gets a diagnosis.
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
	r, up := doctor.Examine(ctx, cl, func(ctx context.Context) []health.Check { return daemon.Checkup(ctx, p) })
	if c.json {
		_ = doctor.WriteJSON(env.Stdout, r)
	} else {
		_ = health.WriteText(env.Stdout, r, time.Local)
	}
	if *bundle != "" {
		if err := writeBundle(*bundle, func(f *os.File) error {
			if up {
				return cl.DiagnosticsBundle(ctx, f)
			}
			return daemon.WriteBundle(f, p, r)
		}); err != nil {
			return fail(env, c, err)
		}
		fmt.Fprintf(env.Stderr, "Diagnostics bundle written to %s: send it to ClinicPro support.\n", *bundle)
	}
	return healthExit(r)
}

// writeBundle creates path for the bundle write fills, and removes it when the
// write fails, so no half a zip is left for support.
func writeBundle(path string, write func(*os.File) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write the diagnostics bundle: %w", err)
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("cannot write the diagnostics bundle: %w", err)
	}
	return nil
}
