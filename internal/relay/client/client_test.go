package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

func TestClassification(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		kind    Kind
		retry   time.Duration
		offline bool
		outage  bool
	}{
		{"400 permanent", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 400, api.CodeInvalidRequest) }, Permanent, 0, false, false},
		{"403 permanent", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 403, api.CodeForbidden) }, Permanent, 0, false, false},
		{"409 unresolved permanent", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 409, api.CodeUnresolved) }, Permanent, 0, false, false},
		{"429 retry after", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 429, api.CodeRateLimited, "Retry-After", "7") }, Retryable, 7 * time.Second, false, false},
		{"503 facility offline", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 503, api.CodeFacilityOffline) }, Retryable, 0, true, true},
		{"502 ambiguous", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 502, api.CodeAmbiguous) }, Ambiguous, 0, false, true},
		{"500 retryable", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 500, api.CodeInternal) }, Retryable, 0, false, true},
		{"non-JSON 502 from a proxy", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad gateway", http.StatusBadGateway) }, Retryable, 0, false, true},
		{"408 retryable", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 408, api.CodeUpstream) }, Retryable, 0, false, false},
		{"425 too early retryable", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 425, api.CodeUpstream) }, Retryable, 0, false, false},
		{"401 token refused on a call", func(w http.ResponseWriter, r *http.Request) { apiErr(w, 401, api.CodeUnauthorized) }, Retryable, 0, false, false},
	}
	for _, tc := range cases {
		srv, _ := fakeRelay(t, tc.handler)
		c, err := New(srv.URL, Credentials{ClientID: "cpc_x", Secret: "s", Facility: "F2N060-E"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.UploadDocument(context.Background(), DocumentUpload{IdempotencyKey: "k-000001", NHI: "ZZZ0016", Title: "t",
			ContentType: api.ContentTypeTIFF, Size: 4, Body: strings.NewReader("II*\x00")})
		var ce *Error
		if !errors.As(err, &ce) || ce.Kind != tc.kind || ce.RetryAfter != tc.retry || IsFacilityOffline(err) != tc.offline || IsOutage(err) != tc.outage || ce.Message == "" {
			t.Errorf("%s: got %#v", tc.name, err)
		}
		if strings.Contains(err.Error(), "ZZZ0016") {
			t.Errorf("%s: error text carries the NHI", tc.name)
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
	if KindOf(err) != Retryable || IsOutage(err) || IsCredentialsRefused(err) {
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
	if !IsPermanent(err) || !IsCredentialsRefused(err) || !IsOutage(err) || !strings.Contains(err.Error(), "enrol") {
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
	if !IsRetryable(err) || !IsOutage(err) {
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
	if !IsAmbiguous(err) {
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
