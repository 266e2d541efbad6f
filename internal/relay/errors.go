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

// fromALEX maps an ALEX client error to the relay's answer. Statuses follow what the
// agent should do: 4xx park (the request or the practice's setup is wrong), 429/5xx
// retry.
func fromALEX(err error) *apiError {
	var (
		fo *alex.FacilityOfflineError
		rl *alex.RateLimitedError
		oo *alex.OperationOutcomeError
		ne *alex.NotExposedError
	)
	switch {
	case errors.As(err, &fo):
		return &apiError{status: http.StatusServiceUnavailable, code: api.CodeFacilityOffline, msg: alex.FacilityOfflineMessage, retryAfter: fo.RetryAfter}
	case errors.As(err, &rl):
		return &apiError{status: http.StatusTooManyRequests, code: api.CodeRateLimited, msg: err.Error(), retryAfter: rl.RetryAfter}
	case errors.Is(err, alex.ErrPatientNotFound):
		return fail(http.StatusNotFound, api.CodeNotFound, alex.ErrPatientNotFound.Error())
	case errors.Is(err, alex.ErrFacilityNotFound):
		return fail(http.StatusForbidden, api.CodeForbidden, alex.ErrFacilityNotFound.Error())
	case errors.Is(err, alex.ErrContentType):
		return fail(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, alex.ErrContentType.Error())
	case errors.Is(err, alex.ErrTooLarge):
		return fail(http.StatusRequestEntityTooLarge, api.CodeTooLarge, alex.ErrTooLarge.Error())
	case errors.Is(err, alex.ErrInvalidDocument):
		return badRequest(alex.ErrInvalidDocument.Error())
	case errors.Is(err, alex.ErrUnauthorized), errors.Is(err, alex.ErrAuthorizationFailed):
		// The relay's own ALEX registration is at fault, not the practice's request:
		// the operator fixes it and the agent's retries then succeed.
		return fail(http.StatusBadGateway, api.CodeUpstream, err.Error()+" The relay operator has been told; uploads will be retried.")
	case errors.As(err, &ne):
		return fail(http.StatusBadGateway, api.CodeUpstream, err.Error())
	case errors.As(err, &oo) && oo.Status >= 400 && oo.Status < 500:
		return badRequest(err.Error())
	case alex.Retryable(err):
		return fail(http.StatusBadGateway, api.CodeUpstream, err.Error())
	}
	return fail(http.StatusBadGateway, api.CodeUpstream, err.Error())
}
