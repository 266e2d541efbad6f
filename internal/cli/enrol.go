package cli

import (
	"context"
	"fmt"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/datadir"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/secret"
)

func cmdEnrol(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("enrol", env)
	relayURL := fs.String("relay", "", "the relay's address, e.g. https://relay.clinicpro.co.nz")
	code := fs.String("code", "", "the one-time enrolment code from ClinicPro support")
	if pos, ok := parse(fs, args); !ok || len(pos) > 0 || *relayURL == "" || *code == "" {
		return usageErr(env, "usage: clinicpro enrol --relay URL --code CODE")
	}
	p := c.paths()
	creds, err := enrolAndStore(ctx, p, *relayURL, *code)
	if err != nil {
		return fail(env, c, err)
	}
	if err := setRelayURL(p.ConfigFile, *relayURL); err != nil {
		fmt.Fprintf(env.Stderr, "clinicpro: enrolled, but relay_url could not be written to %s (%v); set it by hand.\n", p.ConfigFile, err)
	}
	if c.json {
		printJSON(env.Stdout, map[string]string{"facility": creds.Facility, "relay": *relayURL, "clientId": creds.ClientID})
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "This PC is enrolled with %s for facility %s.\n", *relayURL, creds.Facility)
	fmt.Fprintln(env.Stdout, "Restart the agent so it connects: clinicpro service stop, then clinicpro service start.")
	return ExitOK
}

// enrolAndStore spends the code and keeps the credentials it buys.
func enrolAndStore(ctx context.Context, p config.Paths, relayURL, code string) (client.Credentials, error) {
	// Checked before the code is spent: credentials must not land in a folder someone
	// else owns or every user may read.
	if _, err := datadir.Secure(p.DataDir); err != nil {
		return client.Credentials{}, err
	}
	creds, err := client.Enrol(ctx, relayURL, code)
	if err != nil {
		return creds, err
	}
	if err := secret.NewStore(p.DataDir).Save(secret.Credentials{
		RelayURL: relayURL, ClientID: creds.ClientID, Secret: creds.Secret, Facility: creds.Facility,
	}); err != nil {
		return creds, fmt.Errorf("the relay enrolled this PC but the credentials could not be stored, so ask for a new code and run this as an administrator: %w", err)
	}
	return creds, nil
}

// setRelayURL records the relay in the configuration file, keeping every comment and
// setting.
func setRelayURL(path, url string) error {
	_, err := config.ApplyMerge(path, config.Merge{RelayURL: url})
	return err
}
