package alex_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/alex"
)

func TestRetryableAndAmbiguousTable(t *testing.T) {
	call := func(status int, write, sent bool, err error) error {
		return &alex.CallError{Op: "op", Facility: "F", Correlation: "c", Status: status, Write: write, Sent: sent, Err: err}
	}
	cases := []struct {
		name                 string
		err                  error
		retryable, ambiguous bool
	}{
		{"business rule", call(400, true, true, &alex.OperationOutcomeError{Status: 400}), false, false},
		{"forbidden", call(403, false, true, &alex.OperationOutcomeError{Status: 403}), false, false},
		{"offline write", call(503, true, true, &alex.FacilityOfflineError{}), true, false},
		{"429 write", call(429, true, true, &alex.RateLimitedError{}), true, false},
		{"502 write", call(502, true, true, &alex.StatusError{Status: 502}), true, true},
		{"500 read", call(500, false, true, &alex.StatusError{Status: 500}), true, false},
		{"dial failure write", call(0, true, false, &alex.TransportError{Err: io.EOF}), true, false},
		{"dropped after send", call(0, true, true, &alex.TransportError{Err: io.EOF}), true, true},
		{"timeout after send", call(0, true, true, alex.ErrTimeout), true, true},
		{"cancelled", call(0, true, false, context.Canceled), false, false},
		{"nil", nil, false, false},
	}
	for _, tc := range cases {
		if got := alex.Retryable(tc.err); got != tc.retryable {
			t.Errorf("%s: Retryable = %v", tc.name, got)
		}
		if got := alex.Ambiguous(tc.err); got != tc.ambiguous {
			t.Errorf("%s: Ambiguous = %v", tc.name, got)
		}
	}
}

// A 201 whose body is cut off means the document exists but its id is unknown: the
// caller must look it up, not write it again.
func TestCreatedButBodyLostIsAmbiguous(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":3599}`)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"resourceType":`)
		_ = http.NewResponseController(w).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer ts.Close()
	c, err := alex.New(alex.Config{BaseURL: ts.URL + "/FHIR", TokenURL: ts.URL + "/token", ClientID: "a", ClientSecret: "b"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.CreateScanDocument(context.Background(), "F2N060-E", alex.ScanDocument{Identifier: "k", PatientID: "p",
		ContentType: alex.ContentTypePDF, Data: []byte("%PDF-1.7")})
	var ce *alex.CallError
	if !errors.As(err, &ce) || ce.Status != 201 || !alex.Ambiguous(err) {
		t.Fatalf("err = %v (ambiguous %v), want an ambiguous failure after 201", err, alex.Ambiguous(err))
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []alex.Config{
		{},
		{BaseURL: "alexapi/FHIR", TokenURL: "t", ClientID: "a", ClientSecret: "b"},
		{BaseURL: "https://x/FHIR", ClientID: "a", ClientSecret: "b"},
	} {
		if _, err := alex.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
