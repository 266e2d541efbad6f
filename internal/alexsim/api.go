package alexsim

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"github.com/clinicpro/medtech-images/internal/fhir"
)

// recorder captures the status for the request log and still lets a handler hijack.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// maxRequests bounds the request log.
const maxRequests = 10000

// apiHandler serves one authenticated call for a facility ("" when the call needs none).
type apiHandler func(w http.ResponseWriter, r *http.Request, facility string)

// api wraps ALEX's gateway behaviour around h: request log, bearer check, faults,
// mt-facilityid check.
func (s *Sim) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		facility := r.Header.Get("mt-facilityid")
		defer func() {
			s.mu.Lock()
			if len(s.requests) >= maxRequests {
				// A long-running dev sandbox keeps the recent calls only.
				s.requests = append(s.requests[:0], s.requests[len(s.requests)-maxRequests/2:]...)
			}
			s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Facility: facility,
				Correlation: r.Header.Get("mt-correlationid"), AppID: r.Header.Get("mt-appid"),
				ContentType: r.Header.Get("Content-Type"), Status: rec.status})
			s.mu.Unlock()
		}()
		if !s.authorised(r) {
			rec.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeJSON(rec, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "Unauthorized. Access token is missing or invalid."})
			return
		}
		if s.injected(rec, r, facility) {
			return
		}
		// metadata is served by the façade itself and the launch decode carries its
		// facility inside the context; everything else is routed to one practice.
		needsFacility := !strings.HasSuffix(strings.ToLower(r.URL.Path), "/metadata") &&
			!strings.HasPrefix(r.URL.Path, "/vendorforms/")
		switch {
		case facility == "" && needsFacility:
			outcome(rec, http.StatusBadRequest, "required", "The mt-facilityid header is required.")
			return
		case facility != "" && !s.facilities[facility]:
			outcome(rec, http.StatusForbidden, "forbidden", "Practice Facility not found")
			return
		}
		h(rec, r, facility)
	}
}

// outcome writes a one-issue OperationOutcome.
func outcome(w http.ResponseWriter, status int, code, diagnostics string) {
	writeFHIR(w, status, fhir.OperationOutcome{ResourceType: "OperationOutcome",
		Issue: []fhir.Issue{{Severity: "error", Code: code, Diagnostics: diagnostics}}})
}

func forbidden(w http.ResponseWriter) {
	outcome(w, http.StatusForbidden, "forbidden", "Authorization failed.")
}

// gatewayError is API Management's own (non-FHIR) error body, field order as observed.
type gatewayError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

// notExposed is API Management's answer for a path ALEX does not expose.
func notExposed(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, gatewayError{404, "Resource not found"})
}

func writeFHIR(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", fhir.ContentType+"; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// searchset builds a Bundle; with no resources it carries the OperationOutcome entry
// ALEX uses for "no matches".
func searchset(resources ...any) fhir.Bundle {
	b := fhir.Bundle{ResourceType: "Bundle", Type: "searchset"}
	n := len(resources)
	b.Total = &n
	for _, r := range resources {
		raw, _ := json.Marshal(r)
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: raw, Search: &fhir.BundleSearch{Mode: "match"}})
	}
	if n == 0 {
		raw, _ := json.Marshal(fhir.OperationOutcome{ResourceType: "OperationOutcome",
			Issue: []fhir.Issue{{Severity: "information", Code: "not-found", Diagnostics: "No records found."}}})
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: raw, Search: &fhir.BundleSearch{Mode: "outcome"}})
	}
	return b
}
