package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Kind says whether repeating a failed call can help.
type Kind int

const (
	// Permanent: the request itself is refused, or the relay refused this PC's
	// credentials (api.CauseCredentials). Retrying the same request will fail the
	// same way.
	Permanent Kind = iota + 1
	// Retryable: nothing was stored; try again later (408, 425, 429 after
	// RetryAfter, a refused access token, 5xx, facility offline, network failure
	// before the request was sent).
	Retryable
	// Ambiguous: the document may or may not have been stored. Retrying with the
	// same idempotency key is safe and resolves it.
	Ambiguous
)

func (k Kind) String() string {
	switch k {
	case Permanent:
		return "permanent"
	case Retryable:
		return "retryable"
	case Ambiguous:
		return "ambiguous"
	}
	return "unknown"
}

// Error is every error the client returns for a call that reached (or tried to
// reach) the relay. Its text never contains patient data. Cause is the one
// classification the rest of the agent reads; Kind says whether repeating the same
// request can help.
type Error struct {
	Kind        Kind
	Cause       api.Cause
	Status      int    // HTTP status; 0 when the relay was not reached
	Code        string // api.Code* or an OAuth2 error code
	Message     string // the relay's sentence, or ours for network failures
	Correlation string
	RetryAfter  time.Duration // from Retry-After on 429/503; 0 when absent
	Err         error         // underlying network error, if any
}

func (e *Error) Error() string {
	s := e.Message
	if e.Status != 0 {
		s = fmt.Sprintf("relay answered %d %s: %s", e.Status, e.Code, e.Message)
	}
	if e.Correlation != "" {
		s += " (correlation id " + e.Correlation + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// RelayCause implements api.Causer, so api.CauseOf finds the cause through wrapping
// without importing this package.
func (e *Error) RelayCause() api.Cause { return e.Cause }

// KindOf returns the Kind of err, or 0 when err did not come from this package.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// IsPermanent, IsRetryable and IsAmbiguous classify err by Kind.
func IsPermanent(err error) bool { return KindOf(err) == Permanent }
func IsRetryable(err error) bool { return KindOf(err) == Retryable }
func IsAmbiguous(err error) bool { return KindOf(err) == Ambiguous }

// codeInvalidClient is the RFC 6749 token error for unknown or revoked client
// credentials.
const codeInvalidClient = "invalid_client"

// codeCauses maps the relay's stable codes to causes: the one place they are read.
var codeCauses = map[string]api.Cause{
	api.CodeInvalidRequest:   api.CauseRefused,
	api.CodeForbidden:        api.CauseRefused,
	api.CodeNotFound:         api.CauseRefused,
	api.CodeConflict:         api.CauseRefused,
	api.CodeTooLarge:         api.CauseRefused,
	api.CodeUnsupportedMedia: api.CauseRefused,
	api.CodePatientAmbiguous: api.CauseRefused,
	api.CodeEnrolCodeUsed:    api.CauseRefused,
	api.CodeEnrolCodeExpired: api.CauseRefused,
	api.CodeUnauthorized:     api.CauseRetry,
	api.CodeRateLimited:      api.CauseRelayBusy,
	api.CodeRelayBusy:        api.CauseRelayBusy,
	api.CodeInternal:         api.CauseRelayFailing,
	api.CodeFacilityOffline:  api.CauseFacilityOffline,
	api.CodeFacilityUnknown:  api.CauseFacilityUnknown,
	api.CodeALEXSignIn:       api.CauseALEXSignIn,
	api.CodeUpstream:         api.CauseALEXUnavailable,
	api.CodeALEXRateLimited:  api.CauseALEXRateLimited,
	api.CodeALEXForbidden:    api.CauseALEXForbidden,
	api.CodeNotExposed:       api.CauseNotExposed,
	api.CodePatientNotFound:  api.CausePatientNotFound,
	api.CodeAmbiguous:        api.CauseAmbiguous,
	api.CodeUnresolved:       api.CauseUnresolved,
}

// classify turns a relay answer into a Kind and a Cause. The code decides; the
// status only stands in for an answer without a code we know (an older relay, or a
// proxy in front of it). 408, 425 (RFC 8470 Too Early) and 429 are the 4xx that say
// "later", not "wrong". 401 on an API call is a retry because the client drops its
// token and the next attempt fetches a fresh one; revoked credentials fail at the
// token endpoint instead (tokenError).
func classify(status int, code string) (Kind, api.Cause) {
	c, ok := codeCauses[code]
	if !ok {
		switch {
		case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusUnauthorized:
			c = api.CauseRetry
		case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
			c = api.CauseRelayBusy
		case status >= 400 && status < 500:
			c = api.CauseRefused
		default:
			c = api.CauseRelayFailing
		}
	}
	return kindOf(c), c
}

// kindOf says whether repeating the request can help, from the cause.
func kindOf(c api.Cause) Kind {
	switch {
	case c == api.CauseAmbiguous:
		return Ambiguous
	case c == api.CauseCredentials, c.Scope() == api.ScopePark, c.Scope() == api.ScopeUnassign:
		return Permanent
	}
	return Retryable
}

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
