package alex_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/clinicpro/medtech-images/internal/alex"
)

// BenchmarkCreateScanDocument8MB measures the client side of an 8 MB upload streamed
// from a file: a bare loopback server discards the body, so allocs/op and B/op show
// what the client holds, which must stay far below the file size.
func BenchmarkCreateScanDocument8MB(b *testing.B) {
	tokens := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":3599}`)
	})
	sink := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", "http://x/fhir/DocumentReference/abc/_history/1")
		w.WriteHeader(http.StatusCreated)
	})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			tokens(w, r)
			return
		}
		sink(w, r)
	}))
	defer ts.Close()
	c, err := alex.New(alex.Config{BaseURL: ts.URL + "/FHIR", TokenURL: ts.URL + "/token", ClientID: "a", ClientSecret: "b"})
	if err != nil {
		b.Fatal(err)
	}
	data := tiff(8 << 20)
	f, err := os.CreateTemp(b.TempDir(), "scan")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	doc := alex.ScanDocument{Identifier: "k", PatientID: "p", ContentType: alex.ContentTypeTIFF, Content: f, Size: int64(len(data))}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := c.CreateScanDocument(context.Background(), "F2N060-E", doc); err != nil {
			b.Fatal(err)
		}
	}
}
