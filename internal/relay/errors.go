package relay

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// apiError is a failure on its way to becoming an api.Error response.
type apiError struct {
	status     int
	code       string
	msg        string
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func fail(status int, code, msg string) *apiError {
	return &apiError{status: status, code: code, msg: msg}
}

func badRequest(msg string) *apiError {
	return fail(http.StatusBadRequest, api.CodeInvalidRequest, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, corr string, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	// ALEX's words can echo our input; scrub anything NHI-shaped before it leaves.
	writeJSON(w, e.status, api.Error{Code: e.code, Message: redact.String(e.msg), Correlation: corr})
}

// causeError answers with code and the Cause's own sentence and fix, so the relay's
// message and the agent's screen say the same thing.
func causeError(status int, code string, c api.Cause) *apiError {
	return fail(status, code, c.Sentence()+" "+c.Fix())
}

// fromALEX maps an ALEX client error to the relay's answer: each case has its own
// code (see api's Code constants), which the agent turns into a Cause. Whether the
// agent retries, waits, parks or reassigns follows from that Cause, not from the
// status; statuses keep HTTP's meaning for everyone else.
func fromALEX(err error) *apiError {
	var (
		fo *alex.FacilityOfflineError
		rl *alex.RateLimitedError
		oo *alex.OperationOutcomeError
		ne *alex.NotExposedError
	)
	switch {
	case errors.As(err, &fo):
		e := causeError(http.StatusServiceUnavailable, api.CodeFacilityOffline, api.CauseFacilityOffline)
		e.retryAfter = fo.RetryAfter
		return e
	case errors.As(err, &rl):
		return &apiError{status: http.StatusTooManyRequests, code: api.CodeALEXRateLimited, msg: err.Error(), retryAfter: rl.RetryAfter}
	case errors.Is(err, alex.ErrPatientNotFound):
		return causeError(http.StatusNotFound, api.CodePatientNotFound, api.CausePatientNotFound)
	case errors.Is(err, alex.ErrMultiplePatients):
		return fail(http.StatusConflict, api.CodePatientAmbiguous, alex.ErrMultiplePatients.Error()+".")
	case errors.Is(err, alex.ErrFacilityNotFound):
		return causeError(http.StatusForbidden, api.CodeFacilityUnknown, api.CauseFacilityUnknown)
	case errors.Is(err, alex.ErrContentType):
		return fail(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, alex.ErrContentType.Error())
	case errors.Is(err, alex.ErrTooLarge):
		return fail(http.StatusRequestEntityTooLarge, api.CodeTooLarge, alex.ErrTooLarge.Error())
	case errors.Is(err, alex.ErrInvalidDocument):
		return badRequest(alex.ErrInvalidDocument.Error())
	case errors.Is(err, alex.ErrUnauthorized):
		// The relay's own ALEX registration is at fault, not the practice's request:
		// the operator fixes it and the agent's retries then succeed.
		return causeError(http.StatusBadGateway, api.CodeALEXSignIn, api.CauseALEXSignIn)
	case errors.Is(err, alex.ErrAuthorizationFailed):
		// A role this request needs, or a query shape ALEX refuses: this request's
		// problem, quoted with ALEX's words and correlation id, never an outage.
		return fail(http.StatusForbidden, api.CodeALEXForbidden, err.Error())
	case errors.As(err, &ne):
		return fail(http.StatusNotImplemented, api.CodeNotExposed, err.Error())
	case errors.As(err, &oo) && oo.Status >= 400 && oo.Status < 500:
		return badRequest(err.Error())
	}
	return fail(http.StatusBadGateway, api.CodeUpstream, err.Error())
}
