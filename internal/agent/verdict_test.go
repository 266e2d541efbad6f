package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/upload"
)

// TestRelayClientAndUploaderAgree sends an upload through the real relay client and
// the agent's adapter to a relay answering each code, and checks that the cause the
// uploader acts on is the one the client found, with the right scope.
func TestRelayClientAndUploaderAgree(t *testing.T) {
	type answer struct {
		status     int
		code       string
		retryAfter string
	}
	cases := []struct {
		name   string
		answer answer
		secret string // "" for the enrolled secret; anything else is refused at the token endpoint
		kind   client.Kind
		cause  api.Cause
		scope  api.Scope
		after  time.Duration
	}{
		{"400 bad request", answer{400, api.CodeInvalidRequest, ""}, "", client.Permanent, api.CauseRefused, api.ScopePark, 0},
		{"409 unresolved", answer{409, api.CodeUnresolved, ""}, "", client.Permanent, api.CauseUnresolved, api.ScopePark, 0},
		{"404 patient not found", answer{404, api.CodePatientNotFound, ""}, "", client.Permanent, api.CausePatientNotFound, api.ScopeUnassign, 0},
		{"403 ALEX refused", answer{403, api.CodeALEXForbidden, ""}, "", client.Permanent, api.CauseALEXForbidden, api.ScopePark, 0},
		{"501 not exposed", answer{501, api.CodeNotExposed, ""}, "", client.Permanent, api.CauseNotExposed, api.ScopePark, 0},
		{"403 facility unknown", answer{403, api.CodeFacilityUnknown, ""}, "", client.Retryable, api.CauseFacilityUnknown, api.ScopeEveryone, 0},
		{"429 relay limit", answer{429, api.CodeRateLimited, "7"}, "", client.Retryable, api.CauseRelayBusy, api.ScopeWait, 7 * time.Second},
		{"503 relay busy", answer{503, api.CodeRelayBusy, "2"}, "", client.Retryable, api.CauseRelayBusy, api.ScopeWait, 2 * time.Second},
		{"401 token refused on the call", answer{401, api.CodeUnauthorized, ""}, "", client.Retryable, api.CauseRetry, api.ScopeRetry, 0},
		{"500 internal", answer{500, api.CodeInternal, ""}, "", client.Retryable, api.CauseRelayFailing, api.ScopeEveryone, 0},
		{"502 upstream", answer{502, api.CodeUpstream, ""}, "", client.Retryable, api.CauseALEXUnavailable, api.ScopeEveryone, 0},
		{"502 ambiguous", answer{502, api.CodeAmbiguous, ""}, "", client.Ambiguous, api.CauseAmbiguous, api.ScopeRetry, 0},
		{"503 facility offline", answer{503, api.CodeFacilityOffline, "30"}, "", client.Retryable, api.CauseFacilityOffline, api.ScopeEveryone, 30 * time.Second},
		{"credentials revoked", answer{}, "revoked", client.Permanent, api.CauseCredentials, api.ScopeEveryone, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := answeringRelay(t, func(w http.ResponseWriter) {
				if tc.answer.retryAfter != "" {
					w.Header().Set("Retry-After", tc.answer.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.answer.status)
				json.NewEncoder(w).Encode(api.Error{Code: tc.answer.code, Message: "The relay's sentence.", Correlation: "c1"})
			})
			secret := "s"
			if tc.secret != "" {
				secret = tc.secret
			}
			cerr, err := upTo(t, url, secret)
			if got := client.KindOf(cerr); got != tc.kind || api.CauseOf(cerr) != tc.cause {
				t.Errorf("client %v %s, want %v %s (%v)", got, api.CauseOf(cerr), tc.kind, tc.cause, cerr)
			}
			var ue *upload.Error
			if !errors.As(err, &ue) || ue.Cause != tc.cause || ue.Cause.Scope() != tc.scope || ue.After != tc.after {
				t.Fatalf("uploader got %#v, want %s (scope %d) after %v", err, tc.cause, tc.scope, tc.after)
			}
			if tc.secret != "" && !strings.Contains(ue.Msg, "enrol") {
				t.Errorf("revoked credentials do not say to re-enrol: %q", ue.Msg)
			}
		})
	}
	t.Run("relay unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String()
		ln.Close()
		cerr, err := upTo(t, url, "s")
		var ue *upload.Error
		if client.KindOf(cerr) != client.Retryable || !errors.As(err, &ue) || ue.Cause != api.CauseRelayUnreachable {
			t.Fatalf("got %#v", err)
		}
	})
}

// answeringRelay speaks the relay's token endpoint for client cpc_x with secret "s"
// (refusing anything else as a revoked connector is refused) and answers every other
// call with answer.
func answeringRelay(t *testing.T, answer func(http.ResponseWriter)) string {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathToken, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if id, secret, ok := r.BasicAuth(); !ok || id != "cpc_x" || secret != "s" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(api.TokenError{Error: "invalid_client", Description: "The connector was revoked."})
			return
		}
		json.NewEncoder(w).Encode(api.TokenResponse{AccessToken: "tok", TokenType: "Bearer", ExpiresIn: 900})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { answer(w) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// upTo sends the same upload through the relay client alone and through the agent's
// adapter, returning the client's error and the one the uploader sees.
func upTo(t *testing.T, url, secret string) (clientErr, uploaderErr error) {
	c, err := client.New(url, client.Credentials{ClientID: "cpc_x", Secret: secret, Facility: "F2N060-E"})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("II*\x00")
	_, clientErr = c.UploadDocument(context.Background(), client.DocumentUpload{IdempotencyKey: "k-000001", NHI: "ZZZ0016",
		Title: "Knee", ContentType: api.ContentTypeTIFF, Size: int64(len(data)), Body: bytes.NewReader(data)})
	r := agent.NewEnrolment(c, url, "F2N060-E").Relay
	_, uploaderErr = r.Upload(context.Background(), upload.Document{IdempotencyKey: "k-000001", Correlation: "corr-1",
		Patient: queue.Patient{NHI: "ZZZ0016"}, Title: "Knee", ContentType: api.ContentTypeTIFF, Data: data})
	return clientErr, uploaderErr
}
