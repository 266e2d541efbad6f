package alex

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/fhir"
)

// Sentinels, for errors.Is. Their text is safe to show and log.
var (
	// ErrFacilityNotFound: ALEX's 403 "Practice Facility not found": the facility is not
	// mapped to our app registration and only Medtech can map it.
	ErrFacilityNotFound = errors.New("Medtech does not know this practice facility for ClinicPro: ask Medtech support to map the facility to the ClinicPro app")
	// ErrAuthorizationFailed: ALEX's 403 "Authorization failed.", which can mean a
	// missing role or a query shape ALEX does not allow.
	ErrAuthorizationFailed = errors.New("Medtech refused the request (Authorization failed): the app may lack a role for it; quote the correlation id to Medtech support")
	// ErrUnauthorized: the token was refused even after a fresh one was fetched.
	ErrUnauthorized = errors.New("Medtech refused ClinicPro's credentials: check the ALEX client id, secret and scope")
	// ErrPatientNotFound: a patient search found nobody.
	ErrPatientNotFound = errors.New("no patient with that NHI in this practice's Medtech: check the NHI")
	// ErrMultiplePatients: a patient search matched more than one record; guessing
	// could file an image under the wrong patient.
	ErrMultiplePatients = errors.New("Medtech has more than one patient with this NHI: ask practice staff to merge the records in Evolution, then try again")
	// ErrNoSearch: the configuration allows no search for an earlier document (or
	// the allowed one needs an NHI that is not known), so a person has to look.
	ErrNoSearch = errors.New("no document search that ALEX allows is configured for this document")
	// ErrContentType: a scan document that is not TIFF or PDF, or whose bytes do not match
	// its declared type.
	ErrContentType = errors.New("Medtech's scan folder accepts only TIFF images and PDF documents: convert the file first")
	// ErrTooLarge: the document exceeds the configured cap.
	ErrTooLarge = errors.New("the file is larger than Medtech accepts: convert it with a smaller size budget")
	// ErrInvalidDocument: a required field (identifier, patient, data) is missing.
	ErrInvalidDocument = errors.New("the document lacks an identifier, patient or content: this is a bug in the caller")
	// ErrTimeout: no answer within the configured time.
	ErrTimeout = errors.New("Medtech did not answer in time: it will be retried")
)

// FacilityOfflineMessage is the ALEX client's text for a 503. What a person reads is
// the relay's cause (relay/api CauseFacilityOffline), declared once there.
const FacilityOfflineMessage = "ALEX answered 503: the practice facility is unreachable (its Hybrid Connection Manager offline or its PC asleep)"

// CallError wraps every failure of a call to ALEX with what a support person needs:
// the operation (never its patient-bearing path), the facility, the status and the
// correlation id. The cause is one of the types below or a sentinel; use errors.As /
// errors.Is on the CallError directly.
type CallError struct {
	Op          string // e.g. "create DocumentReference"
	Facility    string
	Correlation string
	Status      int  // 0 when no response arrived
	Write       bool // the call would change data in ALEX
	// Sent is true when the request was written to the connection before it failed;
	// with Write and no response this makes the outcome unknown.
	Sent bool
	Err  error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("%s (ALEX %s, facility %s, correlation id %s)", e.Err.Error(), e.Op, e.Facility, e.Correlation)
}

func (e *CallError) Unwrap() error { return e.Err }

// OperationOutcomeError is an ALEX answer carrying a FHIR OperationOutcome (400, 403,
// 404, 422, 500 ...). errors.Is matches ErrFacilityNotFound or ErrAuthorizationFailed
// when the diagnostics say so.
type OperationOutcomeError struct {
	Status int
	Issues []fhir.Issue
}

// Code returns the first issue's code (e.g. "business-rule", "forbidden").
func (e *OperationOutcomeError) Code() string {
	if len(e.Issues) == 0 {
		return ""
	}
	return e.Issues[0].Code
}

// Diagnostics joins the issues' diagnostics (or details text).
func (e *OperationOutcomeError) Diagnostics() string {
	var parts []string
	for _, is := range e.Issues {
		d := is.Diagnostics
		if d == "" && is.Details != nil {
			d = is.Details.Text
		}
		if d != "" {
			parts = append(parts, d)
		}
	}
	return strings.Join(parts, "; ")
}

func (e *OperationOutcomeError) Error() string {
	switch {
	case e.Is(ErrFacilityNotFound):
		return ErrFacilityNotFound.Error()
	case e.Is(ErrAuthorizationFailed):
		return ErrAuthorizationFailed.Error()
	}
	// Diagnostics are ALEX's words about our request; scrub anything NHI-shaped in case
	// ALEX echoes input.
	return fmt.Sprintf("Medtech rejected the request (%d %s: %s)", e.Status, e.Code(), scrub(e.Diagnostics()))
}

// Is matches the 403 sentinels by ALEX's diagnostics text.
func (e *OperationOutcomeError) Is(target error) bool {
	d := strings.ToLower(e.Diagnostics())
	switch target {
	case ErrFacilityNotFound:
		return strings.Contains(d, "facility not found")
	case ErrAuthorizationFailed:
		return e.Status == 403 && strings.Contains(d, "authorization failed")
	}
	return false
}

// NotExposedError is a 404 with a non-FHIR body ({"statusCode":404,"message":...}):
// the endpoint is not exposed by ALEX (e.g. Encounter), as opposed to a missing resource.
type NotExposedError struct {
	Status  int
	Message string
}

func (e *NotExposedError) Error() string {
	return fmt.Sprintf("Medtech does not offer this request (%d %s): ClinicPro needs an update", e.Status, scrub(e.Message))
}

// FacilityOfflineError is ALEX's 503: the practice's Hybrid Connection is down.
type FacilityOfflineError struct {
	RetryAfter time.Duration // from Retry-After when present
}

func (e *FacilityOfflineError) Error() string { return FacilityOfflineMessage }

// RateLimitedError is a 429.
type RateLimitedError struct {
	RetryAfter time.Duration // zero when ALEX gave none
}

func (e *RateLimitedError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("Medtech asked ClinicPro to slow down: retrying after %s", e.RetryAfter)
	}
	return "Medtech asked ClinicPro to slow down: it will be retried"
}

// StatusError is any other unexpected HTTP status without a FHIR body.
type StatusError struct {
	Status int
	Body   string // first bytes, NHI-scrubbed
}

func (e *StatusError) Error() string {
	if e.Status >= 500 {
		return fmt.Sprintf("Medtech had an internal error (%d): it will be retried", e.Status)
	}
	return fmt.Sprintf("Medtech answered %d unexpectedly: quote the correlation id to Medtech support", e.Status)
}

// TransportError is a failure to get any HTTP response (refused, reset, dropped).
type TransportError struct{ Err error }

func (e *TransportError) Error() string {
	return "could not reach Medtech ALEX: " + scrub(e.Err.Error())
}

func (e *TransportError) Unwrap() error { return e.Err }

// Correlation returns the correlation id carried by err, or "".
func Correlation(err error) string {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce.Correlation
	}
	return ""
}

// Retryable reports whether repeating the same call later can succeed: 429, 503,
// 5xx, timeouts and transport failures. A retryable write that is also Ambiguous must
// be looked up before it is repeated.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var (
		rl *RateLimitedError
		fo *FacilityOfflineError
		se *StatusError
		te *TransportError
		oo *OperationOutcomeError
	)
	switch {
	case errors.As(err, &rl), errors.As(err, &fo), errors.As(err, &te):
		return true
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &se):
		return se.Status >= 500 || se.Status == 408
	case errors.As(err, &oo):
		return oo.Status >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Ambiguous reports whether a failed write may nevertheless have been applied: the
// request was sent and then the connection dropped, timed out, or ALEX answered a
// gateway-style 5xx (500, 502, 504), or a 2xx arrived but its body was lost (applied,
// id unknown). 503 (facility offline) and 429 are not ambiguous: ALEX refused before
// reaching the practice. Before repeating an ambiguous write, look it up by its
// identifier.
func Ambiguous(err error) bool {
	var ce *CallError
	if !errors.As(err, &ce) || !ce.Write {
		return false
	}
	if ce.Status == 0 {
		return ce.Sent
	}
	switch {
	case ce.Status == 500, ce.Status == 502, ce.Status == 504:
		return true
	case ce.Status >= 200 && ce.Status < 300:
		return true
	}
	return false
}
