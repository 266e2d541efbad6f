package alexsim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Faults are misbehaviours switched on at run time (SetFaults or POST /_sim/faults).
// Counters are consumed one per affected call.
type Faults struct {
	// Offline facilities answer 503, as when their Hybrid Connection Manager is down;
	// "*" means every facility.
	Offline []string `json:"offline,omitempty"`
	// RateLimit: the next N calls get 429 with Retry-After RetryAfterSeconds.
	RateLimit         int `json:"rateLimit,omitempty"`
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
	// ServerErrors: the next N calls get 500.
	ServerErrors int `json:"serverErrors,omitempty"`
	// Unauthorized: the next N calls get 401 whatever their token.
	Unauthorized int `json:"unauthorized,omitempty"`
	// LatencyMS delays every call.
	LatencyMS int `json:"latencyMs,omitempty"`
	// DropWrites: the next N writes are stored and then the connection is closed with no
	// response, the case where a client cannot know whether its write happened.
	DropWrites int `json:"dropWrites,omitempty"`
	// ForbiddenWrites: the next N writes (POST) get ALEX's 403 OperationOutcome
	// "Authorization failed.", as for a role the app lacks.
	ForbiddenWrites int `json:"forbiddenWrites,omitempty"`
	// NotExposedWrites: the next N writes get API Management's non-FHIR 404
	// {"statusCode":404,"message":"Resource not found"}.
	NotExposedWrites int `json:"notExposedWrites,omitempty"`
	// FailWrites: the next N writes get 500 and store nothing; unlike ServerErrors,
	// reads (a patient search, a health ping) are not affected.
	FailWrites int `json:"failWrites,omitempty"`
	// ExpireTokens, when posted, invalidates every issued token once; it is not kept.
	ExpireTokens bool `json:"expireTokens,omitempty"`
}

// SetFaults replaces the active faults.
func (s *Sim) SetFaults(f Faults) {
	if f.ExpireTokens {
		s.expireTokens()
		f.ExpireTokens = false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Faults returns the active faults.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	f.Offline = slices.Clone(f.Offline)
	return f
}

// injected applies the faults to one call and reports whether it answered it.
func (s *Sim) injected(w http.ResponseWriter, r *http.Request, facility string) bool {
	s.mu.Lock()
	f := &s.faults
	latency := time.Duration(f.LatencyMS) * time.Millisecond
	var status int
	retry := 0
	switch {
	case f.Unauthorized > 0:
		f.Unauthorized--
		status = http.StatusUnauthorized
	case facility != "" && (slices.Contains(f.Offline, facility) || slices.Contains(f.Offline, "*")):
		status = http.StatusServiceUnavailable
	case f.RateLimit > 0:
		f.RateLimit--
		status, retry = http.StatusTooManyRequests, f.RetryAfterSeconds
	case f.ServerErrors > 0:
		f.ServerErrors--
		status = http.StatusInternalServerError
	case r.Method == http.MethodPost && f.ForbiddenWrites > 0:
		f.ForbiddenWrites--
		status = http.StatusForbidden
	case r.Method == http.MethodPost && f.NotExposedWrites > 0:
		f.NotExposedWrites--
		status = http.StatusNotFound
	case r.Method == http.MethodPost && f.FailWrites > 0:
		f.FailWrites--
		status = http.StatusInternalServerError
	}
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true // the client gave up; nobody reads an answer
		}
	}
	switch status {
	case 0:
		return false
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, status, map[string]any{"statusCode": 401, "message": "Unauthorized. Access token is missing or invalid."})
	case http.StatusServiceUnavailable:
		// What API Management returns when the relay to the practice has no listener.
		outcome(w, status, "transient", "The practice facility is not reachable. Please try again later.")
	case http.StatusForbidden:
		forbidden(w)
	case http.StatusNotFound:
		notExposed(w)
	case http.StatusTooManyRequests:
		if retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retry))
		}
		writeJSON(w, status, map[string]any{"statusCode": 429, "message": "Rate limit is exceeded."})
	default:
		outcome(w, status, "exception", "An unexpected error occurred.")
	}
	return true
}

// takeDrop consumes one DropWrites.
func (s *Sim) takeDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.DropWrites > 0 {
		s.faults.DropWrites--
		return true
	}
	return false
}

// drop closes the connection without a response.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2 or a recorder: abort is the nearest thing
	}
	conn.Close()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
