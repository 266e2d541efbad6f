package localapi

import (
	"errors"
	"net/http"
)

// Codes are the machine-readable half of an Error body. Each maps to one HTTP status
// so the client can rebuild an *APIError that errors.Is matches against the sentinels.
const (
	CodeBadRequest  = "bad_request"
	CodeNotFound    = "not_found"
	CodeConflict    = "conflict"
	CodeNotEnrolled = "not_enrolled"
	CodeLaunch      = "launch_refused" // the relay or ALEX refused the launch (tampered, expired, wrong facility)
	CodeUnavailable = "unavailable"    // the relay or ALEX could not be reached; try again
	CodeForbidden   = "forbidden"
	CodeInternal    = "internal"
)

var codeStatus = map[string]int{
	CodeBadRequest:  http.StatusBadRequest,
	CodeNotFound:    http.StatusNotFound,
	CodeConflict:    http.StatusConflict,
	CodeNotEnrolled: http.StatusPreconditionFailed,
	CodeLaunch:      http.StatusUnprocessableEntity,
	CodeUnavailable: http.StatusServiceUnavailable,
	CodeForbidden:   http.StatusForbidden,
	CodeInternal:    http.StatusInternalServerError,
}

// APIError is an error a Service returns when it wants a particular answer on the
// wire, and what the Client returns for every non-2xx answer. Message is a sentence
// a person can act on and must not carry patient identifiers.
type APIError struct {
	Code        string
	Message     string
	Correlation string
}

func (e *APIError) Error() string { return e.Message }

// Is matches on Code so errors.Is(err, ErrNotFound) works on both sides of the pipe.
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	return ok && t.Code == e.Code
}

// httpStatus is the status the handler answers with for this error.
func (e *APIError) httpStatus() int {
	if s, ok := codeStatus[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// NewError builds an *APIError; services use it to choose the answer's code.
func NewError(code, message string) *APIError { return &APIError{Code: code, Message: message} }

// Sentinels for errors.Is; their messages are generic, services give specific ones.
var (
	ErrBadRequest  = NewError(CodeBadRequest, "The request was not understood.")
	ErrNotFound    = NewError(CodeNotFound, "That item or session no longer exists; refresh and try again.")
	ErrConflict    = NewError(CodeConflict, "That item is not in a state that allows this; refresh and try again.")
	ErrNotEnrolled = NewError(CodeNotEnrolled, "This PC is not enrolled with ClinicPro; run `clinicpro enrol --relay URL --code CODE` as an administrator.")
	ErrLaunch      = NewError(CodeLaunch, "Medtech's launch could not be verified; click the ClinicPro icon in Medtech again.")
	ErrUnavailable = NewError(CodeUnavailable, "The ClinicPro relay or Medtech could not be reached; try again shortly.")
	ErrForbidden   = NewError(CodeForbidden, "Requests from web pages are refused.")
	// ErrUnknownCaller: the OS could not say which Windows session and user made the
	// request, so nothing that belongs to one user can be handed over.
	ErrUnknownCaller = NewError(CodeForbidden, "ClinicPro could not tell which Windows user made this request, so it was refused; open ClinicPro Images from the Medtech toolbar again.")
	// ErrNotAgentAccount: only the account the agent runs as (SYSTEM for the service,
	// which the installer's actions run as) may close every user's tray.
	ErrNotAgentAccount = NewError(CodeForbidden, "Only the installer (running as the agent's account) may close every tray.")
	// ErrBadCrop: a crop outside the image, or too small to be meant.
	ErrBadCrop = NewError(CodeBadRequest, "The crop is outside the image or too small: draw it again, or use Reset to keep the whole image.")
	// ErrCropPDF: PDFs are documents; only photos and scanned images can be cropped.
	ErrCropPDF = NewError(CodeBadRequest, "A PDF cannot be cropped: only photos and scanned images can. Use Reset to send it whole.")
	// ErrHost: a request over TCP named a host other than a loopback address.
	ErrHost = NewError(CodeForbidden, "Requests must be addressed to 127.0.0.1 or [::1].")
)

// asAPIError turns any error into the body the handler sends. Errors that are not
// *APIError are internal faults: their text may carry paths or upstream detail, so the
// person sees a generic sentence and the detail goes to the (redacted) log only.
func asAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return NewError(CodeInternal, "The ClinicPro agent hit an unexpected error; see its log, or send a diagnostics bundle to support.")
}
