package daemon

import (
	"context"
	"fmt"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/datadir"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/secret"
)

// Enrolled is what `clinicpro enrol` reports.
type Enrolled struct {
	ClientID string
	Facility string
}

// Enrol spends the code at the relay and keeps the credentials it buys, then
// records the relay in the configuration file. An error after the credentials were
// stored says so (ConfigError): the PC is enrolled, and relay_url is set by hand.
func Enrol(ctx context.Context, p config.Paths, relayURL, code string) (Enrolled, error) {
	creds, err := enrolAndStore(ctx, p, relayURL, code)
	if err != nil {
		return Enrolled{}, err
	}
	e := Enrolled{ClientID: creds.ClientID, Facility: creds.Facility}
	if _, err := config.ApplyMerge(p.ConfigFile, config.Merge{RelayURL: relayURL}); err != nil {
		return e, &ConfigError{File: p.ConfigFile, Err: err}
	}
	return e, nil
}

// ConfigError is an enrolment that succeeded but whose relay_url could not be
// written to the configuration file.
type ConfigError struct {
	File string
	Err  error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("enrolled, but relay_url could not be written to %s (%v); set it by hand", e.File, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// enrolAndStore spends the code and keeps the credentials it buys.
func enrolAndStore(ctx context.Context, p config.Paths, relayURL, code string) (secret.Credentials, error) {
	// Checked before the code is spent: credentials must not land in a folder someone
	// else owns or every user may read.
	if _, err := datadir.Secure(p.DataDir); err != nil {
		return secret.Credentials{}, err
	}
	c, err := client.Enrol(ctx, relayURL, code)
	if err != nil {
		return secret.Credentials{}, err
	}
	creds := secret.Credentials{RelayURL: relayURL, ClientID: c.ClientID, Secret: c.Secret, Facility: c.Facility}
	if err := secret.NewStore(p.DataDir).Save(creds); err != nil {
		return creds, fmt.Errorf("the relay enrolled this PC but the credentials could not be stored, so ask for a new code and run this as an administrator: %w", err)
	}
	return creds, nil
}

// enrolment is this PC's connection to the relay from the stored credentials and
// the configuration, and the one place the relay's address is decided: the
// configuration's relay_url wins, so practice IT can point every PC at a moved relay
// by editing it; without one, the address the credentials were issued by.
func enrolment(cfg *config.Config, creds secret.Credentials) (*agent.Enrolment, error) {
	url := cfg.RelayURL
	if url == "" {
		url = creds.RelayURL
	}
	c, err := client.New(url, client.Credentials{ClientID: creds.ClientID, Secret: creds.Secret, Facility: creds.Facility})
	if err != nil {
		return nil, err
	}
	return agent.NewEnrolment(c, url, creds.Facility), nil
}

// relayURL is the enrolment's relay, or "" when the PC is not enrolled.
func relayURL(e *agent.Enrolment) string {
	if e == nil {
		return ""
	}
	return e.URL
}
