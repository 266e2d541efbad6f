package checks

import (
	"context"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// RelayHealth is the relay's connector-scoped health; *client.Client is one. Its
// errors carry an api.Cause (api.CauseOf), which is all these checks read.
type RelayHealth interface {
	Health(ctx context.Context) (api.Health, error)
}

// Relay asks the relay for its health and turns the answer into four checks:
// relay reachable, credentials valid, the relay's ALEX token, and this practice's
// facility reachable through ALEX. A failing check says its cause's sentence and
// fix, so "Medtech does not know this facility", "the practice's HCM is offline" and
// "the relay is busy" each read as themselves. When the relay cannot be asked, the
// checks that depend on its answer are Unknown rather than failed, so the one real
// fault is the sentence a person reads.
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
	failed := func(c *health.Check, st health.State, cause api.Cause) {
		c.State, c.Detail, c.Fix = st, cause.Sentence(), cause.Fix()
	}
	h, err := src.Health(ctx)
	if err != nil {
		switch cause := api.CauseOf(err); cause {
		case api.CauseCredentials:
			reach.State, reach.Detail = health.OK, "reachable"
			failed(&creds, health.Offline, cause)
			unknown(&token, &fac)
		case api.CauseRelayBusy, api.CauseRetry:
			reach.State, reach.Detail = health.OK, "reachable"
			if cause == api.CauseRelayBusy {
				failed(&reach, health.Degraded, cause)
			}
			unknown(&creds, &token, &fac)
		case api.CauseRelayFailing:
			failed(&reach, health.Offline, cause)
			unknown(&creds, &token, &fac)
		case api.CauseALEXSignIn:
			reach.State, reach.Detail, creds.State, creds.Detail = health.OK, "reachable", health.OK, "accepted"
			failed(&token, health.Offline, cause)
			unknown(&fac)
		case api.CauseALEXUnavailable, api.CauseFacilityOffline, api.CauseFacilityUnknown:
			reach.State, reach.Detail, creds.State, creds.Detail = health.OK, "reachable", health.OK, "accepted"
			failed(&fac, health.Offline, cause)
			unknown(&token)
		default:
			failed(&reach, health.Offline, api.CauseRelayUnreachable)
			unknown(&creds, &token, &fac)
		}
		return []health.Check{reach, creds, token, fac}
	}
	reach.State, reach.Detail = health.OK, "reachable"
	creds.State, creds.Detail = health.OK, "accepted"
	byName := map[string]api.HealthCheck{}
	for _, c := range h.Checks {
		byName[c.Name] = c
	}
	from := func(dst *health.Check, name, okDetail string, fallback api.Cause) {
		rc, ok := byName[name]
		switch {
		case !ok:
			dst.State, dst.Detail = health.Unknown, "The relay did not report this."
		case health.State(rc.State) == health.OK:
			dst.State, dst.Detail = health.OK, okDetail
		case health.State(rc.State) == health.Unknown:
			dst.State, dst.Detail = health.Unknown, rc.Detail
		default:
			st := health.State(rc.State)
			if st != health.Degraded {
				st = health.Offline
			}
			cause := rc.Cause
			if !cause.Known() {
				cause = fallback // a relay from before causes
			}
			failed(dst, st, cause)
		}
	}
	from(&token, api.CheckALEXToken, "signed in", api.CauseALEXSignIn)
	from(&fac, api.CheckFacility, "reachable", api.CauseFacilityOffline)
	if rc, ok := byName[api.CheckALEXReachable]; ok && health.State(rc.State) == health.Offline && fac.State == health.Unknown {
		failed(&fac, health.Offline, api.CauseALEXUnavailable)
	}
	if rc, ok := byName[api.CheckRelay]; ok && health.State(rc.State) != health.OK && health.State(rc.State) != health.Unknown {
		failed(&reach, health.Degraded, api.CauseRelayFailing)
	}
	return []health.Check{reach, creds, token, fac}
}
