package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// fakeRelay answers the token endpoint and hands every API call to h, so the
// client's classification of each kind of answer can be checked.
func fakeRelay(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var tokens atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathToken, func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "cpc_x" || secret != "s" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(api.TokenError{Error: "invalid_client", Description: "no"})
			return
		}
		tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(api.TokenResponse{AccessToken: "tok", TokenType: "Bearer", ExpiresIn: 900})
	})
	mux.HandleFunc("/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &tokens
}

func apiErr(w http.ResponseWriter, status int, code string, hdr ...string) {
	for i := 0; i+1 < len(hdr); i += 2 {
		w.Header().Set(hdr[i], hdr[i+1])
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.Error{Code: code, Message: "the relay's sentence", Correlation: "corr-from-relay"})
}

// TestClassification: every answer the relay gives becomes one Cause here, and the
// Kind follows from it; the HTTP status only stands in for answers without a code
// we know (a proxy's page).
func TestClassification(t *testing.T) {
	code := func(status int, c string, hdr ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { apiErr(w, status, c, hdr...) }
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		kind    Kind
		cause   api.Cause
		retry   time.Duration
	}{
		{"400 invalid", code(400, api.CodeInvalidRequest), Permanent, api.CauseRefused, 0},
		{"403 relay forbidden", code(403, api.CodeForbidden), Permanent, api.CauseRefused, 0},
		{"409 unresolved", code(409, api.CodeUnresolved), Permanent, api.CauseUnresolved, 0},
		{"409 two patients", code(409, api.CodePatientAmbiguous), Permanent, api.CauseRefused, 0},
		{"409 key reused", code(409, api.CodeConflict), Permanent, api.CauseRefused, 0},
		{"400 enrolment code used", code(400, api.CodeEnrolCodeUsed), Permanent, api.CauseRefused, 0},
		{"400 enrolment code expired", code(400, api.CodeEnrolCodeExpired), Permanent, api.CauseRefused, 0},
		{"404 not found", code(404, api.CodeNotFound), Permanent, api.CauseRefused, 0},
		{"413 too large", code(413, api.CodeTooLarge), Permanent, api.CauseRefused, 0},
		{"415 not TIFF or PDF", code(415, api.CodeUnsupportedMedia), Permanent, api.CauseRefused, 0},
		{"404 patient not found", code(404, api.CodePatientNotFound), Permanent, api.CausePatientNotFound, 0},
		{"403 ALEX authorization failed", code(403, api.CodeALEXForbidden), Permanent, api.CauseALEXForbidden, 0},
		{"501 not exposed", code(501, api.CodeNotExposed), Permanent, api.CauseNotExposed, 0},
		{"403 facility unknown", code(403, api.CodeFacilityUnknown), Retryable, api.CauseFacilityUnknown, 0},
		{"429 relay limit", code(429, api.CodeRateLimited, "Retry-After", "7"), Retryable, api.CauseRelayBusy, 7 * time.Second},
		{"503 relay busy", code(503, api.CodeRelayBusy, "Retry-After", "1"), Retryable, api.CauseRelayBusy, time.Second},
		{"429 ALEX asks to slow down", code(429, api.CodeALEXRateLimited, "Retry-After", "3"), Retryable, api.CauseALEXRateLimited, 3 * time.Second},
		{"503 facility offline", code(503, api.CodeFacilityOffline), Retryable, api.CauseFacilityOffline, 0},
		{"502 ALEX sign-in", code(502, api.CodeALEXSignIn), Retryable, api.CauseALEXSignIn, 0},
		{"502 upstream", code(502, api.CodeUpstream), Retryable, api.CauseALEXUnavailable, 0},
		{"502 ambiguous", code(502, api.CodeAmbiguous), Ambiguous, api.CauseAmbiguous, 0},
		{"500 internal", code(500, api.CodeInternal), Retryable, api.CauseRelayFailing, 0},
		{"401 token refused on a call", code(401, api.CodeUnauthorized), Retryable, api.CauseRetry, 0},
		{"non-JSON 502 from a proxy", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", http.StatusBadGateway) }, Retryable, api.CauseRelayFailing, 0},
		{"non-JSON 503 from a proxy", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }, Retryable, api.CauseRelayBusy, 0},
		{"408 without a known code", code(408, "whatever"), Retryable, api.CauseRetry, 0},
		{"425 too early", code(425, ""), Retryable, api.CauseRetry, 0},
		{"418 without a known code", code(418, ""), Permanent, api.CauseRefused, 0},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		srv, _ := fakeRelay(t, tc.handler)
		c, err := New(srv.URL, Credentials{ClientID: "cpc_x", Secret: "s", Facility: "F2N060-E"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.UploadDocument(context.Background(), DocumentUpload{IdempotencyKey: "k-000001", NHI: "ZZZ0016", Title: "t",
			ContentType: api.ContentTypeTIFF, Size: 4, Body: strings.NewReader("II*\x00")})
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind != tc.kind || ce.Cause != tc.cause || ce.RetryAfter != tc.retry || ce.Message == "" {
			t.Errorf("%s: got %#v, want %v %s", tc.name, err, tc.kind, tc.cause)
		}
		if api.CauseOf(fmt.Errorf("wrapped: %w", err)) != tc.cause {
			t.Errorf("%s: api.CauseOf does not find the cause through wrapping", tc.name)
		}
		if strings.Contains(err.Error(), "ZZZ0016") {
			t.Errorf("%s: error text carries the NHI", tc.name)
		}
		if ce != nil {
			seen[ce.Code] = true
		}
	}
	// Every code the relay can send is classified by this test.
	for code := range codeCauses {
		if !seen[code] {
			t.Errorf("code %s is not exercised", code)
		}
	}
}

func TestUploadWireFormat(t *testing.T) {
	var meta api.DocumentMetadata
	var file []byte
	srv, _ := fakeRelay(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get(api.HeaderCorrelation) != "item-corr-1" {
			apiErr(w, 401, api.CodeUnauthorized)
			return
		}
		mr, err := r.MultipartReader()
		if err != nil {
			apiErr(w, 400, api.CodeInvalidRequest)
			return
		}
		p, _ := mr.NextPart()
		if p.FormName() != api.PartMetadata {
			apiErr(w, 400, api.CodeInvalidRequest)
			return
		}
		json.NewDecoder(p).Decode(&meta)
		p, _ = mr.NextPart()
		if p.FormName() != api.PartFile || strings.Contains(p.FileName(), "ZZZ") {
			apiErr(w, 400, api.CodeInvalidRequest)
			return
		}
		file, _ = io.ReadAll(p)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(api.Document{ID: "doc1", Correlation: "item-corr-1"})
	})
	c, _ := New(srv.URL, Credentials{ClientID: "cpc_x", Secret: "s"})
	body := bytes.Repeat([]byte("A"), 70000)
	copy(body, "II*\x00")
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	res, err := c.UploadDocument(WithCorrelation(context.Background(), "item-corr-1"), DocumentUpload{IdempotencyKey: "k-000001",
		PatientID: "abc", Title: "Knee", Laterality: "left", ClinicalDate: at, ContentType: api.ContentTypeTIFF, Size: int64(len(body)), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != "doc1" || res.Correlation != "item-corr-1" || !bytes.Equal(file, body) ||
		meta.PatientID != "abc" || meta.Laterality != "left" || meta.ClinicalDate != "2026-11-27T09:30:00Z" || meta.Size != int64(len(body)) {
		t.Fatalf("res %+v meta %+v file %d bytes", res, meta, len(file))
	}
	// A body shorter than declared is never sent as if complete.
	_, err = c.UploadDocument(context.Background(), DocumentUpload{IdempotencyKey: "k-000002", PatientID: "abc", Title: "t",
		ContentType: api.ContentTypeTIFF, Size: 10, Body: strings.NewReader("II*\x00")})
	if err == nil {
		t.Fatal("short body accepted")
	}
}

func TestTokenRefusedIsPermanentAnd401RefetchesToken(t *testing.T) {
	var first atomic.Bool
	first.Store(true)
	srv, tokens := fakeRelay(t, func(w http.ResponseWriter, r *http.Request) {
		if first.Swap(false) {
			apiErr(w, 401, api.CodeUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(api.Patient{ID: "p1"})
	})
	c, _ := New(srv.URL, Credentials{ClientID: "cpc_x", Secret: "s"})
	_, err := c.LookupPatient(context.Background(), "ZZZ0016")
	if KindOf(err) != Retryable || api.CauseOf(err) != api.CauseRetry {
		t.Fatalf("401: %v", err)
	}
	if p, err := c.LookupPatient(context.Background(), "ZZZ0016"); err != nil || p.ID != "p1" {
		t.Fatalf("after 401: %v", err)
	}
	if n := tokens.Load(); n != 2 {
		t.Fatalf("%d tokens fetched, want 2 (the refused one dropped)", n)
	}
	bad, _ := New(srv.URL, Credentials{ClientID: "cpc_x", Secret: "wrong"})
	_, err = bad.LookupPatient(context.Background(), "ZZZ0016")
	if !IsPermanent(err) || api.CauseOf(err) != api.CauseCredentials || api.CauseOf(err).Scope() != api.ScopeEveryone ||
		!strings.Contains(err.Error(), "enrol") {
		t.Fatalf("refused credentials: %v", err)
	}
}

func TestNetworkFailures(t *testing.T) {
	// Nothing listening: a dial failure is retryable even for an upload.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c, _ := New("http://"+addr, Credentials{ClientID: "cpc_x", Secret: "s"})
	_, err := c.Health(context.Background())
	if !IsRetryable(err) || api.CauseOf(err) != api.CauseRelayUnreachable {
		t.Fatalf("dial failure: %v", err)
	}
	// The relay takes the upload and drops the connection: the outcome is unknown.
	srv, _ := fakeRelay(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	c, _ = New(srv.URL, Credentials{ClientID: "cpc_x", Secret: "s"})
	_, err = c.UploadDocument(context.Background(), DocumentUpload{IdempotencyKey: "k-000003", PatientID: "abc", Title: "t",
		ContentType: api.ContentTypeTIFF, Size: 4, Body: strings.NewReader("II*\x00")})
	if !IsAmbiguous(err) || api.CauseOf(err) != api.CauseRelayUnreachable {
		t.Fatalf("dropped upload: %v", err)
	}
}

func TestRelayURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://relay.example.nz": true, "https://relay.example.nz:8443/": true, "http://127.0.0.1:8443": true,
		"http://localhost:1": true, "http://relay.example.nz": false, "ftp://x": false, "relay": false, "": false,
	} {
		if _, err := New(u, Credentials{ClientID: "a", Secret: "b"}); (err == nil) != ok {
			t.Errorf("New(%q): %v", u, err)
		}
	}
	if _, err := New("https://r", Credentials{}); err == nil {
		t.Error("missing credentials accepted")
	}
}

func TestEnrolErrors(t *testing.T) {
	srv, _ := fakeRelay(t, func(w http.ResponseWriter, r *http.Request) {
		var req api.EnrolRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Code != "ABCDE-FGHJK" {
			apiErr(w, 400, api.CodeInvalidRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(api.EnrolResponse{ClientID: "cpc_x", ClientSecret: "s", Facility: "F2N060-E"})
	})
	cr, err := Enrol(context.Background(), srv.URL, "ABCDE-FGHJK")
	if err != nil || cr != (Credentials{ClientID: "cpc_x", Secret: "s", Facility: "F2N060-E"}) {
		t.Fatalf("Enrol = %+v, %v", cr, err)
	}
	if _, err := Enrol(context.Background(), srv.URL, "nope"); !IsPermanent(err) {
		t.Fatalf("bad code: %v", err)
	}
}
