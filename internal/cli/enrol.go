package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/clinicpro/medtech-images/internal/config"
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
	creds, err := client.Enrol(ctx, *relayURL, *code)
	if err != nil {
		return fail(env, c, err)
	}
	p := c.paths()
	if err := secret.NewStore(p.DataDir).Save(secret.Credentials{
		RelayURL: *relayURL, ClientID: creds.ClientID, Secret: creds.Secret, Facility: creds.Facility,
	}); err != nil {
		return fail(env, c, fmt.Errorf("the relay enrolled this PC but the credentials could not be stored, so ask for a new code and run this as an administrator: %w", err))
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

var relayLine = regexp.MustCompile(`(?m)^[ \t]*#?[ \t]*relay_url[ \t]*=.*$`)

// setRelayURL records the relay in the configuration file, keeping every comment and
// setting: the first relay_url line (commented out or not) is replaced, or one is
// added at the top. The result must parse, or nothing is written.
func setRelayURL(path, url string) error {
	if err := config.WriteExample(path); err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	line := "relay_url = " + strconv.Quote(url)
	var out []byte
	if loc := relayLine.FindIndex(old); loc != nil {
		out = append(append(append([]byte{}, old[:loc[0]]...), line...), old[loc[1]:]...)
	} else {
		out = append([]byte(line+"\n"), old...)
	}
	if _, err := config.Parse(out); err != nil {
		return errors.New("the edited configuration would not be valid: " + err.Error())
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
