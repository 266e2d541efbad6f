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
// the agent's adapter to a relay answering each status and code, and checks that
// the client's Kind and the verdict the uploader acts on tell the same story.
func TestRelayClientAndUploaderAgree(t *testing.T) {
	type answer struct {
		status     int
		code       string
		retryAfter string
	}
	cases := []struct {
		name    string
		answer  answer
		secret  string // "" for the enrolled secret; anything else is refused at the token endpoint
		kind    client.Kind
		verdict upload.Verdict
		status  int
		after   time.Duration
	}{
		{"400 bad request", answer{400, api.CodeInvalidRequest, ""}, "", client.Permanent, upload.Refused, 400, 0},
		{"403 forbidden", answer{403, api.CodeForbidden, ""}, "", client.Permanent, upload.Refused, 403, 0},
		{"409 conflict", answer{409, api.CodeConflict, ""}, "", client.Permanent, upload.Refused, 409, 0},
		{"409 unresolved", answer{409, api.CodeUnresolved, ""}, "", client.Permanent, upload.Refused, 409, 0},
		{"413 too large", answer{413, api.CodeTooLarge, ""}, "", client.Permanent, upload.Refused, 413, 0},
		{"415 unsupported", answer{415, api.CodeUnsupportedMedia, ""}, "", client.Permanent, upload.Refused, 415, 0},
		{"408 timeout", answer{408, api.CodeUpstream, ""}, "", client.Retryable, upload.Transient, 408, 0},
		{"425 too early", answer{425, api.CodeUpstream, ""}, "", client.Retryable, upload.Transient, 425, 0},
		{"429 rate limited", answer{429, api.CodeRateLimited, "7"}, "", client.Retryable, upload.Transient, 429, 7 * time.Second},
		{"401 token refused on the call", answer{401, api.CodeUnauthorized, ""}, "", client.Retryable, upload.Transient, 401, 0},
		{"500 internal", answer{500, api.CodeInternal, ""}, "", client.Retryable, upload.Outage, 500, 0},
		{"502 upstream", answer{502, api.CodeUpstream, ""}, "", client.Retryable, upload.Outage, 502, 0},
		{"502 ambiguous", answer{502, api.CodeAmbiguous, ""}, "", client.Ambiguous, upload.Outage, 0, 0},
		{"503 facility offline", answer{503, api.CodeFacilityOffline, "30"}, "", client.Retryable, upload.Outage, 503, 30 * time.Second},
		{"credentials revoked", answer{}, "revoked", client.Permanent, upload.Outage, 401, 0},
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
			if got := client.KindOf(cerr); got != tc.kind {
				t.Errorf("client kind %v, want %v (%v)", got, tc.kind, cerr)
			}
			var ue *upload.Error
			if !errors.As(err, &ue) || ue.Verdict != tc.verdict || ue.Status != tc.status || ue.After != tc.after {
				t.Fatalf("uploader got %#v, want verdict %v status %d after %v", err, tc.verdict, tc.status, tc.after)
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
		if client.KindOf(cerr) != client.Retryable || !errors.As(err, &ue) || ue.Verdict != upload.Outage || ue.Status != 0 {
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
	r := &agent.RelayUploads{C: c}
	_, uploaderErr = r.Upload(context.Background(), upload.Document{IdempotencyKey: "k-000001", Correlation: "corr-1",
		Patient: queue.Patient{NHI: "ZZZ0016"}, Title: "Knee", ContentType: api.ContentTypeTIFF, Data: data})
	return clientErr, uploaderErr
}
