package alexsim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// Roles put in every token: the ones seen in a UAT token that this product uses, plus
// the Scan DocumentReference roles Medtech grants separately.
var Roles = []string{
	"patient.media.write", "patient.media.read", "patient.nhisearch.read",
	"practitioner.read", "practice.location.read", "patient.launchformincontext.read",
	"patient.documentreference.scan.write", "patient.documentreference.scan.read",
}

// token answers the client-credentials grant the way Entra ID does: form fields (or
// HTTP basic auth), 401 invalid_client for wrong credentials, a JWT-shaped bearer.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "The request body must be form-encoded.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "Only client_credentials is supported.")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if !hmac.Equal([]byte(id), []byte(s.opts.ClientID)) || !hmac.Equal([]byte(secret), []byte(s.opts.ClientSecret)) {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "Invalid client secret provided.")
		return
	}
	if s.opts.Scope != "" && r.PostForm.Get("scope") != s.opts.Scope {
		tokenError(w, http.StatusBadRequest, "invalid_scope", "The provided scope is not valid.")
		return
	}
	now := s.opts.Now()
	exp := now.Add(s.opts.TokenTTL)
	claims, _ := json.Marshal(map[string]any{
		"aud": s.opts.Scope, "iss": "alexsim", "appid": id, "iat": now.Unix(), "exp": exp.Unix(), "roles": Roles,
	})
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body := head + "." + base64.RawURLEncoding.EncodeToString(claims)
	// A random jti-like suffix keeps tokens minted in the same second distinct.
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	m := hmac.New(sha256.New, s.opts.LaunchSecret)
	m.Write([]byte(body))
	m.Write(nonce)
	tok := body + "." + base64.RawURLEncoding.EncodeToString(append(m.Sum(nil), nonce...))
	s.mu.Lock()
	s.tokens[tok] = exp
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": int(s.opts.TokenTTL.Seconds()), "ext_expires_in": int(s.opts.TokenTTL.Seconds()),
		"access_token": tok,
	})
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// authorised reports whether r carries a live token.
func (s *Sim) authorised(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[strings.TrimPrefix(h, "Bearer ")]
	return ok && s.opts.Now().Before(exp)
}

// expireTokens invalidates every token issued so far, as if they had all run out.
func (s *Sim) expireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}
