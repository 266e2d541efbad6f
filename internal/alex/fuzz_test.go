package alex

import (
	"errors"
	"testing"

	"github.com/clinicpro/medtech-images/internal/redact"
)

// ALEX's answers are outside input: the parsers must never panic, and what they
// accept must be self-consistent.

func FuzzParseOperationOutcome(f *testing.F) {
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"business-rule","diagnostics":"The mandatory Identifier.value with the reference number is missing"}]}`))
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"Practice Facility not found"}]}`))
	f.Add([]byte(`{"statusCode":404,"message":"Resource not found"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		oo, ok := ParseOperationOutcome(b)
		if ok && len(oo.Issue) == 0 {
			t.Fatal("accepted an outcome without issues")
		}
		for _, status := range []int{400, 403, 404, 500, 503, 429} {
			err := classify(status, nil, b)
			if err == nil || err.Error() == "" {
				t.Fatal("classify returned no error")
			}
			// Whatever ALEX echoes, an NHI-shaped token never reaches the error text.
			if redact.String(err.Error()) != err.Error() {
				t.Fatalf("error text carries an NHI: %q", err)
			}
		}
	})
}

func FuzzParseSearch(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a","identifier":[{"system":"https://standards.digital.health.nz/ns/nhi-id","value":"ZZZ0016"}],"name":[{"family":"TESTING"}]}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"not-found"}]}}]}`))
	f.Add([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception"}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":null},{"resource":[]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := ParseSearch(b, "Patient")
		if err != nil {
			var oo *OperationOutcomeError
			if !errors.As(err, &oo) && !errors.Is(err, errNotFHIR) {
				t.Fatalf("unexpected error type %T", err)
			}
			return
		}
		for _, raw := range res.Resources {
			// A malformed entry is refused as not-FHIR, never half-converted.
			if p, err := toPatient(raw); err != nil && (!errors.Is(err, errNotFHIR) || p.ID != "") {
				t.Fatalf("toPatient = %+v, %v", p, err)
			}
		}
		_, _ = toDocumentReference(b)
		_, _ = toMediaSummary(b)
	})
}

func FuzzParseLaunchContext(f *testing.F) {
	f.Add([]byte(`{"patientId":"14e52e16edb7a435bfa05e307afd008b","facilityCode":"F2N060-E","providerId":"p","createdTime":"2026-01-15T10:00:00+13:00"}`))
	f.Add([]byte(`"{\"patientId\":null,\"facilityCode\":\"F2N060-E\"}"`))
	f.Add([]byte(`{"facilityCode":"F2N060-E","createdTime":"2026-01-15 10:00:00"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		lc, err := ParseLaunchContext(b)
		if err == nil && lc.FacilityCode == "" {
			t.Fatal("accepted a launch without a facility")
		}
	})
}
