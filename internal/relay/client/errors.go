package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Kind tells the uploader what to do with a failed call.
type Kind int

const (
	// Permanent: the request itself is wrong (4xx), or the relay refused this PC's
	// credentials (IsCredentialsRefused). Retrying the same request will fail the
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
// reach) the relay. Its text never contains patient data.
type Error struct {
	Kind        Kind
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

// KindOf returns the Kind of err, or 0 when err did not come from this package.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// IsPermanent, IsRetryable and IsAmbiguous classify err for the uploader.
func IsPermanent(err error) bool { return KindOf(err) == Permanent }
func IsRetryable(err error) bool { return KindOf(err) == Retryable }
func IsAmbiguous(err error) bool { return KindOf(err) == Ambiguous }

// IsFacilityOffline reports whether ALEX could not reach the practice (its Hybrid
// Connection Manager is offline).
func IsFacilityOffline(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == api.CodeFacilityOffline
}

// IsCredentialsRefused reports whether the relay's token endpoint refused this PC's
// client id and secret: the connector was revoked or its secret replaced, and only
// re-enrolment helps.
func IsCredentialsRefused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == Permanent && (e.Status == http.StatusUnauthorized || e.Code == codeInvalidClient)
}

// IsOutage reports whether err says calls in general fail now, not this request:
// no answer, the relay or ALEX failing (5xx, including an ambiguous write), the
// practice offline, or this PC's credentials refused. Every other request would fail
// the same way, so the uploader pauses them all rather than count it against one.
// Errors not from this package are outages: nothing is known to have answered.
func IsOutage(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return true
	}
	if IsCredentialsRefused(err) {
		return true
	}
	return e.Kind != Permanent && (e.Status < 400 || e.Status >= 500)
}

// codeInvalidClient is the RFC 6749 token error for unknown or revoked client
// credentials.
const codeInvalidClient = "invalid_client"

// kindForStatus maps a relay status to a Kind; it is the one place the relay's
// statuses are interpreted (the uploader asks through KindOf and IsOutage). 408, 425
// (RFC 8470 Too Early) and 429 are the 4xx that say "later", not "wrong". 401 on an
// API call is retryable because the client drops its token and the next attempt
// fetches a fresh one; revoked credentials fail at the token endpoint instead, with
// a permanent error that says to re-enrol.
func kindForStatus(status int, code string) Kind {
	switch {
	case code == api.CodeAmbiguous:
		return Ambiguous
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly,
		status == http.StatusTooManyRequests, status == http.StatusUnauthorized:
		return Retryable
	case status >= 400 && status < 500:
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
