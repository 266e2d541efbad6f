package api

import (
	"errors"
	"slices"
)

// Cause is why a call to the relay failed, in terms a person acts on. The relay
// answers with a stable code (Error.Code, HealthCheck.Cause); the relay client turns
// that code, or a failure to reach the relay at all, into one Cause, and everything
// above it (the uploader, status, doctor, the tray) reads the Cause and never an HTTP
// status. Each Cause has one Scope, one sentence and one fix, declared here and
// nowhere else; docs/troubleshooting.md lists them all (a test keeps it so).
type Cause string

// The causes; their scope, sentence and fix are in the table below.
const (
	CauseRelayUnreachable Cause = "relay_unreachable"
	CauseCredentials      Cause = "credentials_refused"
	CauseRelayFailing     Cause = "relay_failing"
	CauseALEXSignIn       Cause = "alex_sign_in"
	CauseALEXUnavailable  Cause = "alex_unavailable"
	CauseFacilityUnknown  Cause = "facility_unknown"
	CauseFacilityOffline  Cause = "facility_offline"
	CauseRelayBusy        Cause = "relay_busy"
	CauseALEXRateLimited  Cause = "alex_rate_limited"
	CauseAmbiguous        Cause = "ambiguous"
	CauseRetry            Cause = "retry"
	CauseUnresolved       Cause = "unresolved"
	CausePatientNotFound  Cause = "patient_not_found"
	CauseALEXForbidden    Cause = "alex_forbidden"
	CauseNotExposed       Cause = "not_exposed"
	CauseRefused          Cause = "refused"
)

// Scope says whom a Cause stops, and so what the uploader does with the item.
type Scope int

const (
	// ScopeEveryone: every upload would fail the same way (the relay, ALEX or the
	// practice is unreachable, or refuses this PC or facility). Uploads pause together
	// and resume together; the item is not blamed.
	ScopeEveryone Scope = iota + 1
	// ScopeWait: the relay or Medtech asked for a pause of a given length; every
	// upload waits it out, nobody is blamed.
	ScopeWait
	// ScopeRetry: this item is tried again later with a growing delay.
	ScopeRetry
	// ScopePark: this item waits for a person (Retry, Send again, another patient or
	// Discard); the others go on.
	ScopePark
	// ScopeUnassign: this item needs another patient; it goes to Unassigned.
	ScopeUnassign
)

type causeText struct {
	scope         Scope
	sentence, fix string
}

// causes is the one table of sentences and fixes.
var causes = map[Cause]causeText{
	CauseRelayUnreachable: {scope: ScopeEveryone,
		sentence: "This PC cannot reach the ClinicPro relay.",
		fix:      "Check this PC's internet connection and that the firewall or proxy allows HTTPS to the relay address in the agent's configuration; uploads resume by themselves."},
	CauseCredentials: {scope: ScopeEveryone,
		sentence: "The ClinicPro relay no longer accepts this PC's credentials: the connector was revoked or replaced.",
		fix:      "Enrol this PC again with `clinicpro enrol --relay URL --code CODE` and a new code from ClinicPro support."},
	CauseRelayFailing: {scope: ScopeEveryone,
		sentence: "The ClinicPro relay has an internal problem.",
		fix:      "Contact ClinicPro support and quote the correlation id; uploads wait and resume by themselves."},
	CauseALEXSignIn: {scope: ScopeEveryone,
		sentence: "The ClinicPro relay cannot sign in to Medtech ALEX.",
		fix:      "This is not a practice problem: ClinicPro support must renew the relay's ALEX credentials; uploads wait and resume by themselves."},
	CauseALEXUnavailable: {scope: ScopeEveryone,
		sentence: "Medtech ALEX is not answering the ClinicPro relay.",
		fix:      "Nothing to do here: uploads resume by themselves; if it lasts over an hour, contact ClinicPro support with the correlation id."},
	CauseFacilityUnknown: {scope: ScopeEveryone,
		sentence: "Medtech does not know this practice's facility for ClinicPro.",
		fix:      "Ask Medtech support to map the practice's HPI facility id to the ClinicPro app, and check in `clinicpro status` that this PC was enrolled for the right facility."},
	CauseFacilityOffline: {scope: ScopeEveryone,
		sentence: "Medtech cannot reach this practice: its Hybrid Connection Manager is offline.",
		fix:      "Check that the PC running the Hybrid Connection Manager is on and awake and that its service is running (`clinicpro doctor` on that PC says which); uploads resume by themselves."},
	CauseRelayBusy: {scope: ScopeWait,
		sentence: "The ClinicPro relay is busy and asked this PC to wait.",
		fix:      "Nothing to do: uploads continue by themselves in a moment; if this lasts over an hour, tell ClinicPro support."},
	CauseALEXRateLimited: {scope: ScopeWait,
		sentence: "Medtech asked ClinicPro to send more slowly.",
		fix:      "Nothing to do: uploads continue by themselves at the pace Medtech allows."},
	CauseAmbiguous: {scope: ScopeRetry,
		sentence: "Medtech may or may not have stored this file; the relay checks before sending it again.",
		fix:      "Nothing to do: the file is never stored twice."},
	CauseRetry: {scope: ScopeRetry,
		sentence: "A passing problem stopped this file; it will be tried again.",
		fix:      "Nothing to do: it is retried by itself."},
	CauseUnresolved: {scope: ScopePark,
		sentence: "This file may already be in Medtech: the relay could not check.",
		fix:      "Check the patient's Inbox Scan in Medtech, then Send again or Discard."},
	CausePatientNotFound: {scope: ScopeUnassign,
		sentence: "Medtech has no patient with this NHI at this practice.",
		fix:      "Choose the right patient for it in ClinicPro Images > Unassigned, or correct the NHI in the file or folder name."},
	CauseALEXForbidden: {scope: ScopePark,
		sentence: "Medtech refused this file (Authorization failed): ClinicPro's access may lack a permission.",
		fix:      "Tell ClinicPro support, quoting the correlation id; once Medtech has fixed the access, Retry the item."},
	CauseNotExposed: {scope: ScopePark,
		sentence: "Medtech does not offer the request ClinicPro made for this file.",
		fix:      "ClinicPro needs an update: tell ClinicPro support, quoting the correlation id; the file is kept."},
	CauseRefused: {scope: ScopePark,
		sentence: "The relay or Medtech refused this file.",
		fix:      "Read the reason on the item, correct the file or choose its patient again, then Retry or Discard it."},
}

// Causes lists every Cause in a stable order.
func Causes() []Cause {
	out := make([]Cause, 0, len(causes))
	for c := range causes {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Known reports whether c is a declared Cause.
func (c Cause) Known() bool { _, ok := causes[c]; return ok }

// Scope is whom c stops; an unknown cause is treated as the item's own problem.
func (c Cause) Scope() Scope {
	if t, ok := causes[c]; ok {
		return t.scope
	}
	return ScopePark
}

// Sentence says what happened, for a person.
func (c Cause) Sentence() string {
	if t, ok := causes[c]; ok {
		return t.sentence
	}
	return causes[CauseRefused].sentence
}

// Fix says what to do about it.
func (c Cause) Fix() string {
	if t, ok := causes[c]; ok {
		return t.fix
	}
	return causes[CauseRefused].fix
}

// causer is an error that knows its Cause; *client.Error is one.
type causer interface {
	RelayCause() Cause
}

// CauseOf returns the Cause an error carries (through any wrapping), or "" when it
// carries none: an error nobody classified.
func CauseOf(err error) Cause {
	var c causer
	if errors.As(err, &c) {
		return c.RelayCause()
	}
	return ""
}
