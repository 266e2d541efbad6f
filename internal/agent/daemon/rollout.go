package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/rollout"
	"github.com/clinicpro/medtech-images/internal/secret"
)

// rolloutRetry is how often values the installer left are tried again while the
// relay cannot be reached.
var rolloutRetry = 2 * time.Minute

// errNotYet stands in for the relay on the first start: enrolment waits until the
// agent is running (see Run's ready).
var errNotYet = errors.New("enrolment waits until the agent is running")

// applyRollout merges what the installer left into the configuration and enrols
// with its code unless enrolled says credentials are already stored. Without
// network it merges the values but leaves the enrolment pending for the retry that
// follows the start. It never fails the start: the service must run (the MSI waits
// for it) with no network and no relay. When this call enrols, it returns the
// credentials it stored so the caller need not read and decrypt them again.
func applyRollout(ctx context.Context, p config.Paths, enrolled, network bool, log *slog.Logger) (rollout.Result, secret.Credentials) {
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
				fresh = c
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

// retryRollout tries the installer's pending enrolment once the agent has started
// (at once after a first start, which left it for now) and every rolloutRetry while
// the relay cannot be reached. It reports whether it enrolled.
func retryRollout(ctx context.Context, p config.Paths, started <-chan struct{}, first bool, log *slog.Logger) bool {
	select {
	case <-ctx.Done():
		return false
	case <-started:
	}
	wait := rolloutRetry
	if first {
		wait = 0
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = rolloutRetry
		// Read again: `clinicpro enrol` may have been run by hand since the start,
		// and the installer's code must not replace those credentials.
		_, err := secret.NewStore(p.DataDir).Load()
		if r, _ := applyRollout(ctx, p, err == nil, true, log); !r.Pending {
			return r.Enrolled
		}
	}
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
