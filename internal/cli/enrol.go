package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/clinicpro/medtech-images/internal/agent/daemon"
)

func cmdEnrol(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("enrol", env)
	relayURL := fs.String("relay", "", "the relay's address, e.g. https://relay.clinicpro.co.nz")
	code := fs.String("code", "", "the one-time enrolment code from ClinicPro support")
	if pos, ok := parse(fs, args); !ok || len(pos) > 0 || *relayURL == "" || *code == "" {
		return usageErr(env, "usage: clinicpro enrol --relay URL --code CODE")
	}
	e, err := daemon.Enrol(ctx, c.paths(), *relayURL, *code)
	var cfgErr *daemon.ConfigError
	switch {
	case errors.As(err, &cfgErr):
		fmt.Fprintln(env.Stderr, "clinicpro: "+err.Error()+".")
	case err != nil:
		return fail(env, c, err)
	}
	if c.json {
		printJSON(env.Stdout, map[string]string{"facility": e.Facility, "relay": *relayURL, "clientId": e.ClientID})
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "This PC is enrolled with %s for facility %s.\n", *relayURL, e.Facility)
	fmt.Fprintln(env.Stdout, "Restart the agent so it connects: clinicpro service stop, then clinicpro service start.")
	return ExitOK
}
