package alexsim

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzCreate posts arbitrary bodies: the sandbox must answer every one with 201 or a
// 4xx OperationOutcome, never panic or 5xx.
func FuzzCreate(f *testing.F) {
	f.Add([]byte(`{"resourceType":"DocumentReference","identifier":[{"value":"k"}],"status":"current","subject":{"reference":"Patient/14e52e16edb7a435bfa05e307afd008b"},"content":[{"attachment":{"contentType":"image/tiff","data":"SUkqAA=="}}]}`), "DocumentReference")
	f.Add([]byte(`{"resourceType":"Media","status":"completed","content":{"data":"!!"}}`), "Media")
	f.Add([]byte(`[]`), "Media")
	sim := New(Options{Now: clockAt().Now})
	tok := mintToken(f, sim)
	f.Fuzz(func(t *testing.T, body []byte, kind string) {
		if kind != "Media" {
			kind = "DocumentReference"
		}
		req := httptest.NewRequest("POST", "/FHIR/"+kind, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("mt-facilityid", DefaultFacility)
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if w.Code != http.StatusCreated && (w.Code < 400 || w.Code >= 500) {
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}

func mintToken(tb testing.TB, s *Sim) string {
	req := httptest.NewRequest("POST", TokenPath, bytes.NewReader([]byte("grant_type=client_credentials&client_id="+DefaultClientID+"&client_secret="+DefaultClientSecret)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != 200 {
		tb.Fatalf("token: %d", w.Code)
	}
	b := w.Body.Bytes()
	i := bytes.Index(b, []byte(`"access_token":"`))
	b = b[i+len(`"access_token":"`):]
	return string(b[:bytes.IndexByte(b, '"')])
}
