package relay

import (
	"strings"
	"testing"

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
