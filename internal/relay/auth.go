package relay

import (
	"errors"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
)

// handleEnrol redeems an enrolment code. Wrong codes are limited per source address
// (addrKey), and the token is taken before the code is looked up, in one step, so
// guessers in parallel cannot outrun the limit: an address that has used up its
// wrong guesses is refused without its code being looked at, or a guesser could
// read right and wrong from the answers. A code that turns out to be known gives its
// token back, so only wrong codes spend the limit, and one address's guessing never
// refuses another address's enrolment.
func (s *Server) handleEnrol(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	guesses := s.enrolGuess.Get(addrKey(s.clientAddr(r)))
	if ok, wait := guesses.Take(1); !ok {
		rc.rejected = "enrol_guess_limit"
		return &apiError{status: http.StatusTooManyRequests, code: api.CodeRateLimited, retryAfter: wait,
			msg: "Too many wrong enrolment codes were tried from this address: check the code and try again after the given time."}
	}
	var req api.EnrolRequest
	if e := decodeJSON(w, r, &req); e != nil {
		guesses.Give(1)
		return e
	}
	if len(req.Hostname) > 255 {
		guesses.Give(1)
		return badRequest("The host name is longer than 255 characters: this is a bug in the agent.")
	}
	c, secret, err := s.reg.Enrol(r.Context(), req.Code, req.Hostname)
	if errors.Is(err, registry.ErrCodeUnknown) {
		rc.rejected = "enrol_code_unknown"
	} else {
		guesses.Give(1)
	}
	// A refused practice code still names its practice: the refusal is audited
	// against it, so the operator sees the fourth PC of three knocking.
	rc.connector = c
	msg := func(err error) string { return upperFirst(err.Error()) + "." }
	switch {
	case errors.Is(err, registry.ErrCodeUnknown):
		return badRequest(msg(err))
	case errors.Is(err, registry.ErrCodeUsed), errors.Is(err, registry.ErrPracticeFull):
		return fail(http.StatusBadRequest, api.CodeEnrolCodeUsed, msg(err))
	case errors.Is(err, registry.ErrCodeExpired):
		return fail(http.StatusBadRequest, api.CodeEnrolCodeExpired, msg(err))
	case errors.Is(err, registry.ErrRevoked), errors.Is(err, registry.ErrPracticeRevoked):
		return fail(http.StatusForbidden, api.CodeForbidden, msg(err))
	case err != nil:
		return s.internal(rc, err)
	}
	writeJSON(w, http.StatusOK, api.EnrolResponse{ClientID: c.ID, ClientSecret: secret, Facility: c.Facility, TokenURL: api.PathToken})
	return nil
}

// handleToken is the RFC 6749 client-credentials grant (section 4.4) with client
// authentication by HTTP Basic or by form fields (section 2.3.1). Errors use the
// RFC's shape, not api.Error, so standard OAuth2 clients can read them.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	tokenErr := func(status int, code, desc string) *apiError {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="clinicpro-relay"`)
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, status, api.TokenError{Error: code, Description: desc, Correlation: rc.corr})
		rc.outcome = code
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return tokenErr(http.StatusBadRequest, "invalid_request", "The token request must be form encoded (application/x-www-form-urlencoded).")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		return tokenErr(http.StatusBadRequest, "invalid_request", "The token request could not be read as a form.")
	}
	form := r.PostForm
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		return tokenErr(http.StatusBadRequest, "unsupported_grant_type", "Only the client_credentials grant is supported.")
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: Basic credentials are form-urlencoded before base64.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return tokenErr(http.StatusBadRequest, "invalid_request", "The Basic credentials are not form-urlencoded.")
		}
		if form.Has("client_secret") {
			return tokenErr(http.StatusBadRequest, "invalid_request", "Use one client authentication method, not both Basic and form fields.")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" {
		return tokenErr(http.StatusUnauthorized, "invalid_client", "Client authentication is required: send the client id and secret from enrolment.")
	}
	c, err := s.reg.Authenticate(r.Context(), id, secret)
	if errors.Is(err, registry.ErrBadSecret) {
		rc.rejected = "bad_client_secret"
		return tokenErr(http.StatusUnauthorized, "invalid_client",
			"The client id or secret is wrong, or the connector was revoked: re-enrol with a new code from the relay operator.")
	}
	if err != nil {
		return s.internal(rc, err)
	}
	rc.connector = c
	tok, exp, err := s.reg.IssueToken(r.Context(), c, s.cfg.TokenTTL)
	if err != nil {
		return s.internal(rc, err)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, api.TokenResponse{AccessToken: tok, TokenType: "Bearer",
		ExpiresIn: int(math.Floor(time.Until(exp).Seconds()))})
	return nil
}

// authed requires a valid bearer token and applies the connector's rate limit.
func (s *Server) authed(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="clinicpro-relay"`)
			rc.rejected = "no_token"
			return fail(http.StatusUnauthorized, api.CodeUnauthorized, "An access token is required: the agent fetches one with its enrolment credentials.")
		}
		c, err := s.reg.TokenConnector(r.Context(), tok)
		if errors.Is(err, registry.ErrTokenInvalid) {
			rc.rejected = "bad_token"
			w.Header().Set("WWW-Authenticate", `Bearer realm="clinicpro-relay", error="invalid_token"`)
			return fail(http.StatusUnauthorized, api.CodeUnauthorized, "The access token is expired or revoked: fetch a new one; if that fails, re-enrol this PC.")
		}
		if err != nil {
			return s.internal(rc, err)
		}
		rc.connector = c
		// Its calls to ALEX take their turns as this connector (limitedALEX).
		r = r.WithContext(withTurnKey(r.Context(), c.ID))
		// An authenticated connector may take its time sending a large document.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
		// A read-back pays only if it has to ask ALEX (handleRead, readFromLedger).
		if rc.op != "read" {
			if e := s.charge(rc); e != nil {
				return e
			}
		}
		return h(w, r, rc)
	}
}

// charge takes one token from the connector's bucket, or answers 429.
func (s *Server) charge(rc *reqCtx) *apiError {
	if ok, wait := s.limiters.Get(rc.connector.ID).Take(1); !ok {
		return &apiError{status: http.StatusTooManyRequests, code: api.CodeRateLimited, retryAfter: wait,
			msg: "This practice is sending requests faster than the relay allows: slow down and retry after the given time."}
	}
	return nil
}

func (s *Server) internal(rc *reqCtx, err error) *apiError {
	s.log.Error("internal error", "op", rc.op, "err", err, "correlation_id", rc.corr)
	return fail(http.StatusInternalServerError, api.CodeInternal, "The relay hit an internal error: it will be retried; if it persists, quote the correlation id to the relay operator.")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
