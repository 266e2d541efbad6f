package checks

import (
	"context"
	"errors"
	"net/http"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
)

// RelayHealth is the relay's connector-scoped health; *client.Client is one.
type RelayHealth interface {
	Health(ctx context.Context) (api.Health, error)
}

// Relay asks the relay for its health and turns the answer into four checks:
// relay reachable, credentials valid, the relay's ALEX token, and this practice's
// facility reachable through ALEX. When the relay cannot be asked, the checks that
// depend on its answer are Unknown rather than failed, so the one real fault is the
// sentence a person reads.
func Relay(ctx context.Context, src RelayHealth) []health.Check {
	reach := health.Check{Name: NameRelay, Title: "ClinicPro relay", Critical: true}
	creds := health.Check{Name: NameCredentials, Title: "Connector credentials", Critical: true}
	token := health.Check{Name: NameALEXToken, Title: "Relay's Medtech ALEX sign-in", Critical: true}
	fac := health.Check{Name: NameFacility, Title: "Medtech (this practice through ALEX)", Critical: true}
	unknown := func(cs ...*health.Check) {
		for _, c := range cs {
			c.State, c.Detail = health.Unknown, "Not checked: the relay did not answer."
		}
	}
	h, err := src.Health(ctx)
	var ce *client.Error
	isClientErr := errors.As(err, &ce)
	switch {
	case err == nil:
		reach.State, reach.Detail = health.OK, "reachable"
		creds.State, creds.Detail = health.OK, "accepted"
	case isClientErr && (ce.Status == http.StatusUnauthorized || ce.Status == http.StatusForbidden):
		reach.State, reach.Detail = health.OK, "reachable"
		creds.State, creds.Detail, creds.Fix = health.Offline, "The relay refused this PC's connector credentials.", FixCredentials
		unknown(&token, &fac)
		return []health.Check{reach, creds, token, fac}
	case isClientErr && ce.Status >= 500:
		reach.State, reach.Detail, reach.Fix = health.Offline, "The ClinicPro relay answered with an error: "+ce.Error()+".", FixRelayDown
		unknown(&creds, &token, &fac)
		return []health.Check{reach, creds, token, fac}
	default:
		reach.State, reach.Detail, reach.Fix = health.Offline, "The ClinicPro relay cannot be reached.", FixRelay
		unknown(&creds, &token, &fac)
		return []health.Check{reach, creds, token, fac}
	}
	byName := map[string]api.HealthCheck{}
	for _, c := range h.Checks {
		byName[c.Name] = c
	}
	from := func(dst *health.Check, name, okDetail, failDetail, fix string) {
		rc, ok := byName[name]
		switch {
		case !ok:
			dst.State, dst.Detail = health.Unknown, "The relay did not report this."
		case health.State(rc.State) == health.OK:
			dst.State, dst.Detail = health.OK, okDetail
		case health.State(rc.State) == health.Unknown:
			dst.State, dst.Detail = health.Unknown, rc.Detail
		default:
			dst.State, dst.Detail, dst.Fix = health.State(rc.State), failDetail, fix
			if dst.State != health.Degraded {
				dst.State = health.Offline
			}
		}
	}
	from(&token, api.CheckALEXToken, "signed in", "The relay cannot get a Medtech ALEX access token.", FixALEXToken)
	from(&fac, api.CheckFacility, "reachable", "Medtech ALEX cannot reach this practice's database.", FixFacility)
	if rc, ok := byName[api.CheckRelay]; ok && health.State(rc.State) != health.OK && health.State(rc.State) != health.Unknown {
		reach.State, reach.Detail, reach.Fix = health.Degraded, "The ClinicPro relay reports a problem of its own.", FixRelayDown
	}
	return []health.Check{reach, creds, token, fac}
}
