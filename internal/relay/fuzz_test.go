package relay

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/nhi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
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

// fakeALEX answers everything without I/O; benchmarks embed it.
type fakeALEX struct{}

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
	return alex.Created{ID: d.Identifier}, alex.CallInfo{}, nil
}
func (f *fakeALEX) ReadDocumentReference(context.Context, string, string) (alex.DocumentReference, alex.CallInfo, error) {
	return alex.DocumentReference{}, alex.CallInfo{}, alex.ErrPatientNotFound
}
func (f *fakeALEX) FindDocuments(context.Context, string, string, nhi.NHI) ([]alex.DocumentReference, alex.CallInfo, error) {
	return nil, alex.CallInfo{}, nil
}
func (f *fakeALEX) Ping(context.Context, string) (alex.CallInfo, error) { return alex.CallInfo{}, nil }

// FuzzReadUpload drives the whole upload decoding with arbitrary bodies: every
// refusal is a clear 4xx, and what it accepts is a TIFF or PDF of the declared size
// whose bytes are spooled intact.
func FuzzReadUpload(f *testing.F) {
	dir := f.TempDir()
	ct, b := multipartBody(part{"metadata", metaJSON(func(m map[string]any) { m["size"] = 100 })}, part{"file", tiff(100)})
	f.Add(ct, b.Bytes())
	ct, b = multipartBody(part{"metadata", metaJSON(func(m map[string]any) { m["contentType"] = "application/pdf" })}, part{"file", pdf(1000)})
	f.Add(ct, b.Bytes())
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{}\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, api.PathDocument, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		sp, e, err := readUpload(httptest.NewRecorder(), req, 4096, dir)
		defer sp.discard()
		if err != nil {
			t.Fatalf("internal error: %v", err)
		}
		if e != nil {
			if e.status < 400 || e.status > 499 || e.msg == "" || e.code == "" {
				t.Fatalf("refusal %+v is not a clear 4xx", e)
			}
			return
		}
		got, rerr := os.ReadFile(sp.file.Name())
		if rerr != nil || int64(len(got)) != sp.meta.Size || sp.n != sp.meta.Size || sha256Hex(got) != sp.sum ||
			alex.Sniff(got) != sp.meta.ContentType || sp.meta.Size > 4096 {
			t.Fatalf("accepted %s of %d bytes, spooled %d", sp.meta.ContentType, sp.meta.Size, len(got))
		}
	})
}
