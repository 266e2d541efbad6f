package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/nhi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/relay/sqlitedb"
)

func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(`{"idempotencyKey":"item-0001-aaaa","nhi":"ZZZ0016","title":"Knee","contentType":"image/tiff","size":1000}`))
	f.Add([]byte(`{"idempotencyKey":"item-0001-aaaa","patientId":"14e52e16edb7a435bfa05e307afd008b","title":"x","contentType":"application/pdf","size":1,"laterality":"left","clinicalDate":"2026-11-27T09:30:00+13:00"}`))
	f.Add([]byte(`{"x":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, e := parseMetadata(b, DefaultMaxUpload)
		if e != nil {
			if e.status < 400 || e.status > 499 || e.msg == "" {
				t.Fatalf("refusal %+v is not a clear 4xx", e)
			}
			// A refusal's message must not echo a patient identifier back.
			if strings.Contains(e.msg, "ZZZ0016") {
				t.Fatalf("message echoes input: %q", e.msg)
			}
			return
		}
		m := u.meta
		if (m.NHI == "") == (m.PatientID == "") || m.Size <= 0 || m.Size > DefaultMaxUpload ||
			(m.ContentType != api.ContentTypeTIFF && m.ContentType != api.ContentTypePDF) || !keyRe.MatchString(m.IdempotencyKey) {
			t.Fatalf("accepted invalid metadata %+v", m)
		}
	})
}

func FuzzDecodeStrict(f *testing.F) {
	f.Add(`{"nhi":"ZZZ0016"}`)
	f.Add(`{"context":"a","signature":"b"}`)
	f.Add(`{"nhi":"ZZZ0016"}{}`)
	f.Fuzz(func(t *testing.T, s string) {
		var l api.LaunchRequest
		if e := decodeStrict(strings.NewReader(s), &l); e != nil && e.status != 400 {
			t.Fatalf("status %d", e.status)
		}
		var r api.LookupRequest
		if e := decodeStrict(strings.NewReader(s), &r); e != nil && strings.Contains(e.msg, "ZZZ0016") {
			t.Fatalf("message echoes input: %q", e.msg)
		}
	})
}

// fakeALEX accepts every write, for fuzzing the request decoding in front of it.
type fakeALEX struct {
	mu     sync.Mutex
	writes []alex.ScanDocument
	heads  [][]byte // first bytes of each write, read while the spool file exists
}

func (f *fakeALEX) ResolveLaunch(context.Context, string, string, string) (alex.LaunchContext, alex.CallInfo, error) {
	return alex.LaunchContext{FacilityCode: "F2N060-E"}, alex.CallInfo{}, nil
}
func (f *fakeALEX) ReadPatient(context.Context, string, string) (alex.Patient, alex.CallInfo, error) {
	return alex.Patient{ID: "p"}, alex.CallInfo{}, nil
}
func (f *fakeALEX) FindPatientByNHI(context.Context, string, nhi.NHI) (alex.Patient, alex.CallInfo, error) {
	return alex.Patient{ID: "p"}, alex.CallInfo{}, nil
}
func (f *fakeALEX) CreateScanDocument(_ context.Context, _ string, d alex.ScanDocument) (alex.Created, alex.CallInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	head := make([]byte, 8)
	n, _ := d.Content.ReadAt(head, 0)
	f.writes = append(f.writes, d)
	f.heads = append(f.heads, head[:n])
	return alex.Created{ID: fmt.Sprintf("doc%d", len(f.writes))}, alex.CallInfo{}, nil
}
func (f *fakeALEX) ReadDocumentReference(context.Context, string, string) (alex.DocumentReference, alex.CallInfo, error) {
	return alex.DocumentReference{}, alex.CallInfo{}, alex.ErrPatientNotFound
}
func (f *fakeALEX) FindDocumentsByIdentifier(context.Context, string, string) ([]alex.DocumentReference, alex.CallInfo, error) {
	return nil, alex.CallInfo{}, nil
}
func (f *fakeALEX) Ping(context.Context, string) (alex.CallInfo, error) { return alex.CallInfo{}, nil }

// FuzzUploadRequest drives the whole upload handler with arbitrary bodies: it must
// never fail with a 5xx or panic, every refusal is the JSON error shape, and nothing
// reaches ALEX unless it is a well-formed TIFF or PDF of the declared size.
func FuzzUploadRequest(f *testing.F) {
	dir := f.TempDir()
	db, err := sqlitedb.Open(filepath.Join(dir, "relay.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	reg, _ := registry.New(db)
	led, _ := ledger.New(db)
	aud, _ := audit.New(db, []byte("0123456789abcdef"))
	fa := &fakeALEX{}
	srv, err := New(Config{SpoolDir: filepath.Join(dir, "spool"), MaxUpload: 4096, Rate: 1e9, Burst: 1 << 30}, reg, led, aud, fa)
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	_, code, _ := reg.Add(ctx, "F2N060-E", "fuzz")
	c, _, _ := reg.Enrol(ctx, code)
	tok, _, _ := reg.IssueToken(ctx, c, time.Hour)
	h := srv.Handler()

	ct, b := multipartBody(part{"metadata", metaJSON(func(m map[string]any) { m["size"] = 100 })}, part{"file", tiff(100)})
	f.Add(ct, b.Bytes())
	ct, b = multipartBody(part{"metadata", metaJSON(nil)}, part{"file", pdf(1000)})
	f.Add(ct, b.Bytes())
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{}\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		before := len(fa.writes)
		req := httptest.NewRequest(http.MethodPost, api.PathDocument, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var ae api.Error
			if json.Unmarshal(rec.Body.Bytes(), &ae) != nil || ae.Code == "" || ae.Message == "" || ae.Correlation == "" {
				t.Fatalf("refusal is not the error shape: %s", rec.Body)
			}
			if len(fa.writes) != before {
				t.Fatal("a refused upload reached ALEX")
			}
			return
		}
		fa.mu.Lock()
		defer fa.mu.Unlock()
		if len(fa.writes) > before {
			d := fa.writes[len(fa.writes)-1]
			if alex.Sniff(fa.heads[len(fa.heads)-1]) != d.ContentType || d.Size <= 0 || d.Size > 4096 {
				t.Fatalf("ALEX was sent %s of %d bytes", d.ContentType, d.Size)
			}
		}
	})
}
