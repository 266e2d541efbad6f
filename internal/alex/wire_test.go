package alex

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/clinicpro/medtech-images/internal/fhir"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// R4 rules for the fields we send (http://hl7.org/fhir/R4/datatypes.html#dateTime,
// DocumentReference: status 1..1 from document-reference-status, content 1..*,
// attachment.contentType a MIME type; Reference.reference a literal URL).
var (
	r4DateTime  = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)
	docStatuses = map[string]bool{"current": true, "superseded": true, "entered-in-error": true}
)

func testClient(t *testing.T, tweak func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: "https://alexapiuat.medtechglobal.com/FHIR", TokenURL: "https://login.example/token",
		ClientID: "id", ClientSecret: "secret",
		Now: func() time.Time { return time.Date(2026, 1, 14, 21, 0, 0, 0, time.UTC) }}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wire reads the streamed body the client would send.
func wire(t *testing.T, c *Client, d ScanDocument) (map[string]any, []byte) {
	t.Helper()
	body, err := c.scanBody(d)
	if err != nil {
		t.Fatal(err)
	}
	rc, n, err := body()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || int64(len(b)) != n {
		t.Fatalf("body %d bytes, Content-Length %d, err %v", len(b), n, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	return m, b
}

func TestScanDocumentWireIsR4(t *testing.T) {
	c := testClient(t, nil)
	data := append([]byte("II*\x00"), bytes.Repeat([]byte{1, 2, 3}, 1000)...)
	m, raw := wire(t, c, ScanDocument{Identifier: "item-1", PatientID: "14e52e16edb7a435bfa05e307afd008b",
		ProviderID: "prov", Title: "knee.tiff", Description: "Wound", ContentType: ContentTypeTIFF, Data: data,
		Laterality: fhir.Coding{System: "http://snomed.info/sct", Code: "24028007", Display: "Right"}, BodySite: fhir.Coding{Display: "knee"}})

	if m["resourceType"] != "DocumentReference" || !docStatuses[m["status"].(string)] || m["status"] != "current" {
		t.Fatalf("resourceType/status: %v %v", m["resourceType"], m["status"])
	}
	if d := m["date"].(string); !r4DateTime.MatchString(d) || d != "2026-01-15T10:00:00+13:00" {
		t.Fatalf("date %q: want R4 dateTime with the NZ daylight offset", d)
	}
	ids := m["identifier"].([]any)
	if ids[0].(map[string]any)["value"] != "item-1" {
		t.Fatalf("identifier %v", ids)
	}
	if _, has := ids[0].(map[string]any)["system"]; has {
		t.Fatal("identifier.system sent although not configured (CP's accepted payload had none)")
	}
	if s := m["subject"].(map[string]any)["reference"]; s != "https://alexapiuat.medtechglobal.com/fhir/Patient/14e52e16edb7a435bfa05e307afd008b" {
		t.Fatalf("subject %v: want absolute, lowercase /fhir", s)
	}
	if a := m["author"].([]any)[0].(map[string]any)["reference"]; a != "https://alexapiuat.medtechglobal.com/fhir/Practitioner/prov" {
		t.Fatalf("author %v", a)
	}
	coding := m["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)
	if coding["system"] != "http://loinc.org" || coding["code"] != "72170-4" {
		t.Fatalf("type %v", coding)
	}
	if m["description"] != "Wound (Right knee)" {
		t.Fatalf("description %q", m["description"])
	}
	content := m["content"].([]any)
	if len(content) != 1 {
		t.Fatalf("content %d entries, want 1", len(content))
	}
	att := content[0].(map[string]any)["attachment"].(map[string]any)
	if att["contentType"] != ContentTypeTIFF || att["title"] != "knee.tiff" || att["creation"] != m["date"] {
		t.Fatalf("attachment %v", att)
	}
	got, err := base64.StdEncoding.DecodeString(att["data"].(string))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("data does not round-trip: %v", err)
	}
	if _, has := m["extension"]; has {
		t.Fatal("extension sent in description mode")
	}
	if bytes.Contains(raw, []byte(`"id"`)) {
		t.Fatal("a create must not carry an id")
	}
}

func TestScanDocumentBodySiteExtension(t *testing.T) {
	left := fhir.Coding{System: "http://snomed.info/sct", Code: "7771000", Display: "Left"}
	forearm := fhir.Coding{System: "http://snomed.info/sct", Code: "14975008", Display: "Forearm"}
	letter := fhir.Coding{System: "http://loinc.org", Code: "51852-2", Display: "Letter"}
	for _, mode := range []BodySiteMode{BodySiteExtension, BodySiteBoth} {
		c := testClient(t, func(c *Config) { c.BodySite = mode; c.IdentifierSystem = "urn:clinicpro:item" })
		m, _ := wire(t, c, ScanDocument{Identifier: "k", PatientID: "p", Description: "Rash", ContentType: ContentTypePDF,
			Data: []byte("%PDF-1.4"), Laterality: left, BodySite: forearm, Type: letter})
		wantDesc := map[BodySiteMode]string{BodySiteExtension: "Rash", BodySiteBoth: "Rash (Left forearm)"}[mode]
		if m["description"] != wantDesc {
			t.Fatalf("%d: description %q", mode, m["description"])
		}
		ext := m["extension"].([]any)[0].(map[string]any)
		if ext["url"] != BodySiteExtensionURL {
			t.Fatalf("extension %v", ext)
		}
		cc := ext["valueCodeableConcept"].(map[string]any)
		codings := cc["coding"].([]any)
		if cc["text"] != "Left forearm" || len(codings) != 2 || codings[0].(map[string]any)["code"] != "14975008" ||
			codings[1].(map[string]any)["code"] != "7771000" {
			t.Fatalf("body site %v", cc)
		}
		if code := m["type"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"]; code != "51852-2" {
			t.Fatalf("type %v: the document's own type code was not sent", code)
		}
		if sys := m["identifier"].([]any)[0].(map[string]any)["system"]; sys != "urn:clinicpro:item" {
			t.Fatalf("identifier.system %v", sys)
		}
	}
	if _, err := ParseBodySiteMode("coded"); err == nil {
		t.Fatal("an unknown body_site mode was accepted")
	}
}

func TestAucklandOffsetFollowsDaylightSaving(t *testing.T) {
	winter := fhirDateTime(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))
	summer := fhirDateTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if !strings.HasSuffix(winter, "+12:00") || !strings.HasSuffix(summer, "+13:00") {
		t.Fatalf("winter %s, summer %s", winter, summer)
	}
}

func TestReferenceAndLaunchBases(t *testing.T) {
	c := testClient(t, nil)
	if c.refBase != "https://alexapiuat.medtechglobal.com/fhir" || c.cfg.LaunchBaseURL != "https://alexapiuat.medtechglobal.com" {
		t.Fatalf("refBase %q, launch base %q", c.refBase, c.cfg.LaunchBaseURL)
	}
	if id, v := idFromLocation("https://alexapiuat.medtechglobal.com/fhir/Media/abc/_history/2", "Media"); id != "abc" || v != "2" {
		t.Fatalf("idFromLocation = %q %q", id, v)
	}
}

func TestParseSearchRecognisesOutcomeEntries(t *testing.T) {
	empty := `{"resourceType":"Bundle","type":"searchset","total":0,"entry":[{"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"not-found","diagnostics":"No records found."}]}}]}`
	res, err := ParseSearch([]byte(empty), "Patient")
	if err != nil || len(res.Resources) != 0 || len(res.Outcomes) != 1 {
		t.Fatalf("empty search: %+v, %v", res, err)
	}
	refused := `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"Authorization failed."}]}}]}`
	if _, err := ParseSearch([]byte(refused), "Patient"); err == nil {
		t.Fatal("a forbidden outcome inside a Bundle must be an error")
	}
	mixed := `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"informational"}]}},{"resource":{"resourceType":"Media","id":"m"}}]}`
	res, err = ParseSearch([]byte(mixed), "Patient")
	if err != nil || len(res.Resources) != 1 {
		t.Fatalf("mixed: %+v, %v", res, err)
	}
	if _, err := ParseSearch([]byte(`<html>`), "Patient"); err == nil {
		t.Fatal("HTML must not parse as a search")
	}
}

func TestParseLaunchContextShapes(t *testing.T) {
	obj := `{"patientId":null,"facilityCode":"F2N060-E","providerId":"p1","createdTime":"2026-01-15T10:00:00"}`
	lc, err := ParseLaunchContext([]byte(obj))
	if err != nil || lc.PatientID != "" || lc.FacilityCode != "F2N060-E" || lc.CreatedTime.IsZero() {
		t.Fatalf("object: %+v, %v", lc, err)
	}
	if lc.CreatedTime.UTC().Hour() != 21 {
		t.Fatalf("zone-less createdTime should be read as NZ time: %v", lc.CreatedTime.UTC())
	}
	quoted, _ := json.Marshal(`{"patientId":"abc","facilityCode":"F2N060-E"}`)
	lc, err = ParseLaunchContext(quoted)
	if err != nil || lc.PatientID != "abc" {
		t.Fatalf("string-encoded: %+v, %v", lc, err)
	}
	if _, err := ParseLaunchContext([]byte(`{"patientId":"abc"}`)); err == nil {
		t.Fatal("a launch without a facility must be refused")
	}
}

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("12"); d != 12*time.Second {
		t.Fatal(d)
	}
	if d := retryAfter("soon"); d != 0 {
		t.Fatal(d)
	}
}

func TestOutcomeTextIsScrubbed(t *testing.T) {
	err := classify(400, nil, []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"business-rule","diagnostics":"Patient 14e52e16edb7a435bfa05e307afd008b (ZZZ0016) is inactive"}]}`))
	if s := err.Error(); strings.Contains(s, "14e52e16") || strings.Contains(s, "ZZZ0016") || !strings.Contains(s, "is inactive") {
		t.Fatalf("error text %q", s)
	}
	var oo *OperationOutcomeError
	if !errors.As(err, &oo) || !strings.Contains(oo.Diagnostics(), "ZZZ0016") {
		t.Fatal("the raw diagnostics stay available to the caller")
	}
}
