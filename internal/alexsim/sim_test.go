package alexsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/fhir"
)

// These tests speak raw HTTP to a real listener, so they pin the sandbox's wire
// behaviour independently of internal/alex.

type harness struct {
	t     *testing.T
	srv   *Server
	token string
}

func start(t *testing.T, opts Options) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := Start(ctx, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv}
	resp := h.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID},
		"client_secret": {DefaultClientSecret}, "scope": {"api://x/.default"}})
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	wantTTL := 3599
	if opts.TokenTTL > 0 {
		wantTTL = int(opts.TokenTTL.Seconds())
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&tok) != nil || tok.TokenType != "Bearer" || tok.ExpiresIn != wantTTL {
		t.Fatalf("token: %d %+v", resp.StatusCode, tok)
	}
	resp.Body.Close()
	if strings.Count(tok.AccessToken, ".") != 2 {
		t.Fatalf("token %q is not JWT-shaped", tok.AccessToken)
	}
	h.token = tok.AccessToken
	return h
}

func TestTokenCarriesRoles(t *testing.T) {
	h := start(t, Options{})
	parts := strings.Split(h.token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Roles []string `json:"roles"`
		Exp   int64    `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 {
		t.Fatalf("claims %s", payload)
	}
	for _, want := range []string{"patient.nhisearch.read", "patient.launchformincontext.read", "patient.media.write"} {
		found := false
		for _, r := range claims.Roles {
			found = found || r == want
		}
		if !found {
			t.Errorf("token lacks role %s", want)
		}
	}
}

func (h *harness) tokenRequest(v url.Values) *http.Response {
	resp, err := http.PostForm(h.srv.TokenURL, v)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// call sends method path (relative to the root) with the token and facility.
func (h *harness) call(method, path, facility string, body []byte) (int, []byte, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.token)
	if facility != "" {
		req.Header.Set("mt-facilityid", facility)
	}
	if body != nil {
		req.Header.Set("Content-Type", fhir.ContentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func diagnostics(t *testing.T, b []byte) (code, diags string) {
	t.Helper()
	var oo fhir.OperationOutcome
	if json.Unmarshal(b, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		t.Fatalf("not an OperationOutcome: %s", b)
	}
	return oo.Issue[0].Code, oo.Issue[0].Diagnostics
}

const nhiQuery = "identifier=https%3A%2F%2Fstandards.digital.health.nz%2Fns%2Fnhi-id%7CZZZ0016"

func TestTokenEndpoint(t *testing.T) {
	h := start(t, Options{})
	var resp *http.Response
	for name, v := range map[string]url.Values{
		"wrong secret": {"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {"x"}},
		"wrong client": {"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {DefaultClientSecret}},
	} {
		resp = h.tokenRequest(v)
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
	resp = h.tokenRequest(url.Values{"grant_type": {"password"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}})
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("password grant: %d, want 400", resp.StatusCode)
	}
	resp, err := http.PostForm(h.srv.URL+"/8a024e99-aba3-4b25-b875-28b0c0ca6096"+TokenPath, url.Values{"grant_type": {"client_credentials"},
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("tenant-style token URL: %v %v", err, resp)
	}
	resp.Body.Close()
	h.token = "forged"
	if st, _, _ := h.call("GET", "/FHIR/Location", DefaultFacility, nil); st != 401 {
		t.Errorf("forged token: %d, want 401", st)
	}
}

func TestTokensExpireForReal(t *testing.T) {
	now := clockAt()
	h := start(t, Options{TokenTTL: 60e9, Now: now.Now})
	if st, _, _ := h.call("GET", "/FHIR/Location", DefaultFacility, nil); st != 200 {
		t.Fatalf("fresh token: %d", st)
	}
	now.Add(61e9)
	if st, _, _ := h.call("GET", "/FHIR/Location", DefaultFacility, nil); st != 401 {
		t.Fatalf("expired token: %d, want 401", st)
	}
}

func TestFacilityRouting(t *testing.T) {
	h := start(t, Options{})
	st, b, _ := h.call("GET", "/FHIR/Location", "", nil)
	if code, _ := diagnostics(t, b); st < 400 || st >= 500 || code != "required" {
		t.Fatalf("missing mt-facilityid: %d %s, want a 4xx", st, b)
	}
	st, b, _ = h.call("GET", "/FHIR/Location", UnmappedFacility, nil)
	if code, d := diagnostics(t, b); st != 403 || code != "forbidden" || d != "Practice Facility not found" {
		t.Fatalf("unmapped: %d %s %s", st, code, d)
	}
	st, b, _ = h.call("GET", "/FHIR/Location", DefaultFacility, nil)
	if st != 200 || !bytes.Contains(b, []byte(fhir.HPIFacilitySystem)) || !bytes.Contains(b, []byte(DefaultFacility)) {
		t.Fatalf("Location: %d %s", st, b)
	}
	if st, _, _ := h.call("GET", "/FHIR/metadata", "", nil); st != 200 {
		t.Fatalf("metadata: %d", st)
	}
}

func TestSearchShapes(t *testing.T) {
	h := start(t, Options{})
	id := h.srv.PatientID(DefaultFacility, "ZZZ0016")
	if id != "14e52e16edb7a435bfa05e307afd008b" {
		t.Fatalf("ZZZ0016 at %s has id %q, want the UAT one", DefaultFacility, id)
	}
	if other := h.srv.PatientID(LocalFacility, "ZZZ0016"); other == id || len(other) != 32 {
		t.Fatalf("ids must differ per facility: %q", other)
	}
	for _, path := range []string{"/FHIR/Patient?" + nhiQuery, "/fhir/Patient?identifier=ZZZ0016", "/FHIR/Patient/" + id} {
		st, b, _ := h.call("GET", path, DefaultFacility, nil)
		if st != 200 || !bytes.Contains(b, []byte(`"TESTING"`)) {
			t.Errorf("GET %s: %d %s", path, st, b)
		}
	}
	// New-format test NHI.
	if st, b, _ := h.call("GET", "/FHIR/Patient?identifier=ZZZ00AC", DefaultFacility, nil); st != 200 || !bytes.Contains(b, []byte("ZZZ00AC")) {
		t.Errorf("new-format NHI: %d %s", st, b)
	}
	// Empty search: a Bundle with an OperationOutcome entry.
	st, b, _ := h.call("GET", "/FHIR/Patient?identifier=ZAA0075", DefaultFacility, nil)
	var bun fhir.Bundle
	if st != 200 || json.Unmarshal(b, &bun) != nil || len(bun.Entry) != 1 || fhir.ResourceType(bun.Entry[0].Resource) != "OperationOutcome" {
		t.Errorf("empty search: %d %s", st, b)
	}
	// Another facility's id is not found here.
	if st, _, _ := h.call("GET", "/FHIR/Patient/"+h.srv.PatientID(LocalFacility, "ZZZ0016"), DefaultFacility, nil); st != 404 {
		t.Errorf("cross-facility read: %d, want 404", st)
	}
	for _, path := range []string{"/FHIR/Patient", "/FHIR/Media?patient=" + id, "/FHIR/Media?subject=Patient/" + id, "/FHIR/Media"} {
		st, b, _ := h.call("GET", path, DefaultFacility, nil)
		if code, d := diagnostics(t, b); st != 403 || code != "forbidden" || d != "Authorization failed." {
			t.Errorf("GET %s: %d %s %q, want 403 Authorization failed.", path, st, code, d)
		}
	}
	if st, b, _ := h.call("GET", "/FHIR/Media?patient.identifier=ZZZ0016", DefaultFacility, nil); st != 200 {
		t.Errorf("chained Media search: %d %s", st, b)
	}
	st, b, _ = h.call("GET", "/FHIR/Encounter", DefaultFacility, nil)
	if st != 404 || string(bytes.TrimSpace(b)) != `{"statusCode":404,"message":"Resource not found"}` {
		t.Errorf("Encounter: %d %s", st, b)
	}
}

func docJSON(t *testing.T, h *harness, mutate func(map[string]any)) []byte {
	t.Helper()
	d := map[string]any{
		"resourceType": "DocumentReference",
		"identifier":   []map[string]string{{"value": "item-1"}},
		"status":       "current",
		"date":         "2026-01-15T10:00:00+13:00",
		"subject":      map[string]string{"reference": h.srv.URL + "/fhir/Patient/" + h.srv.PatientID(DefaultFacility, "ZZZ0016")},
		"content": []map[string]any{{"attachment": map[string]string{
			"contentType": "image/tiff", "title": "x.tiff", "data": base64.StdEncoding.EncodeToString([]byte("II*\x00rest"))}}},
	}
	if mutate != nil {
		mutate(d)
	}
	b, _ := json.Marshal(d)
	return b
}

func attachment(ct string, data []byte) func(map[string]any) {
	return func(d map[string]any) {
		d["content"] = []map[string]any{{"attachment": map[string]string{"contentType": ct, "data": base64.StdEncoding.EncodeToString(data)}}}
	}
}

func TestDocumentReferenceValidation(t *testing.T) {
	h := start(t, Options{MaxBytes: 1 << 10})
	cases := map[string]struct {
		mutate func(map[string]any)
		status int
		code   string
	}{
		"jpeg":               {attachment("image/jpeg", []byte("\xff\xd8\xff\xe0")), 400, "business-rule"},
		"jpeg labelled tiff": {attachment("image/tiff", []byte("\xff\xd8\xff\xe0")), 400, "business-rule"},
		"pdf labelled tiff":  {attachment("image/tiff", []byte("%PDF-1.7")), 400, "business-rule"},
		"too large":          {attachment("image/tiff", append([]byte("II*\x00"), make([]byte, 2<<10)...)), 413, "too-costly"},
		"no identifier":      {func(d map[string]any) { delete(d, "identifier") }, 400, "business-rule"},
		"empty identifier":   {func(d map[string]any) { d["identifier"] = []map[string]string{{"system": "x"}} }, 400, "business-rule"},
		"unknown subject":    {func(d map[string]any) { d["subject"] = map[string]string{"reference": "Patient/nobody"} }, 400, "business-rule"},
		"other facility": {func(d map[string]any) {
			d["subject"] = map[string]string{"reference": "Patient/" + h.srv.PatientID(LocalFacility, "ZZZ0016")}
		}, 400, "business-rule"},
		"bad status":          {func(d map[string]any) { d["status"] = "final" }, 400, "value"},
		"date without zone":   {func(d map[string]any) { d["date"] = "2026-01-15T10:00:00" }, 400, "value"},
		"unknown author":      {func(d map[string]any) { d["author"] = []map[string]string{{"reference": "Practitioner/x"}} }, 400, "business-rule"},
		"no content":          {func(d map[string]any) { delete(d, "content") }, 400, "required"},
		"wrong resource type": {func(d map[string]any) { d["resourceType"] = "Media" }, 400, "structure"},
	}
	for name, tc := range cases {
		st, b, _ := h.call("POST", "/FHIR/DocumentReference", DefaultFacility, docJSON(t, h, tc.mutate))
		if code, _ := diagnostics(t, b); st != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", name, st, code, tc.status, tc.code)
		}
	}
	if n := len(h.srv.Documents()); n != 0 {
		t.Fatalf("%d rejected documents were stored", n)
	}
	st, b, hdr := h.call("POST", "/FHIR/DocumentReference", DefaultFacility, docJSON(t, h, attachment("application/pdf", []byte("%PDF-1.4 x"))))
	if st != 201 || !strings.HasPrefix(hdr.Get("Location"), h.srv.URL+"/fhir/DocumentReference/") || hdr.Get("ETag") == "" {
		t.Fatalf("valid PDF: %d %v %s", st, hdr, b)
	}
	docs := h.srv.Documents()
	if len(docs) != 1 || docs[0].Identifier != "item-1" || docs[0].ContentType != "application/pdf" || docs[0].Size != 10 {
		t.Fatalf("stored %+v", docs)
	}
	id := docs[0].ID
	if st, b, _ := h.call("GET", "/FHIR/DocumentReference/"+id, DefaultFacility, nil); st != 200 || !bytes.Contains(b, []byte(`"item-1"`)) {
		t.Fatalf("read back: %d %s", st, b)
	}
	if st, _, _ := h.call("GET", "/FHIR/DocumentReference/"+id, LocalFacility, nil); st != 404 {
		t.Fatalf("read from another facility: %d, want 404", st)
	}
	st, b, _ = h.call("GET", "/FHIR/DocumentReference?patient.identifier="+url.QueryEscape(fhir.NHISystem+"|ZZZ0016"), DefaultFacility, nil)
	var bun fhir.Bundle
	if st != 200 || json.Unmarshal(b, &bun) != nil || len(bun.Entry) != 1 || fhir.ResourceType(bun.Entry[0].Resource) != "DocumentReference" {
		t.Fatalf("search by chained NHI: %d %s", st, b)
	}
	// The listing shows the stored fields without the bytes.
	if r := string(docs[0].Resource); !strings.Contains(r, `"status":"current"`) || strings.Contains(r, `"data"`) {
		t.Fatalf("listed resource %s", r)
	}
}

// recorded is one request/answer pair recorded from real ALEX UAT (or its
// capability statement): the sandbox must answer each one the same way by default.
type recorded struct {
	name, method, path, facility string
	body                         []byte
	status                       int
	// exact is the whole body when ALEX's is known byte for byte; otherwise code and
	// diagnostics of the OperationOutcome, or bundle for an empty searchset.
	exact, code, diags string
	emptyBundle        bool
}

// TestRecordedALEXShapes holds the sandbox to every answer recorded from real ALEX:
// the searches it refuses with 403 "Authorization failed." (no patient filter,
// patient=, subject=), the unmapped facility's 403, the non-FHIR 404 of a path it
// does not expose, an empty search as a Bundle with an OperationOutcome entry, Media
// without identifier, and the lowercase /fhir Location of a create.
func TestRecordedALEXShapes(t *testing.T) {
	h := start(t, Options{})
	id := h.srv.PatientID(DefaultFacility, "ZZZ0016")
	chained := "patient.identifier=" + url.QueryEscape(fhir.NHISystem+"|ZZZ0016")
	forbiddenCase := func(name, path string) recorded {
		return recorded{name: name, method: "GET", path: path, facility: DefaultFacility, status: 403, code: "forbidden", diags: "Authorization failed."}
	}
	cases := []recorded{
		forbiddenCase("Patient without parameters", "/FHIR/Patient"),
		forbiddenCase("Media without a patient filter", "/FHIR/Media"),
		forbiddenCase("Media?patient=", "/FHIR/Media?patient="+id),
		forbiddenCase("Media?subject=", "/FHIR/Media?subject=Patient/"+id),
		forbiddenCase("DocumentReference without a patient filter", "/FHIR/DocumentReference"),
		forbiddenCase("DocumentReference?identifier= (unfiltered)", "/FHIR/DocumentReference?identifier=item-1"),
		forbiddenCase("DocumentReference?patient=", "/FHIR/DocumentReference?patient="+id),
		forbiddenCase("DocumentReference?subject=", "/FHIR/DocumentReference?subject=Patient/"+id),
		forbiddenCase("chained search with an extra parameter", "/FHIR/DocumentReference?"+chained+"&identifier=item-1"),
		{name: "facility not mapped to the app", method: "GET", path: "/FHIR/Location", facility: UnmappedFacility,
			status: 403, code: "forbidden", diags: "Practice Facility not found"},
		{name: "Encounter is not exposed", method: "GET", path: "/FHIR/Encounter", facility: DefaultFacility,
			status: 404, exact: `{"statusCode":404,"message":"Resource not found"}`},
		{name: "a path outside FHIR", method: "GET", path: "/api/anything", facility: DefaultFacility,
			status: 404, exact: `{"statusCode":404,"message":"Resource not found"}`},
		{name: "empty Patient search", method: "GET", path: "/FHIR/Patient?identifier=ZAA0075", facility: DefaultFacility,
			status: 200, emptyBundle: true},
		{name: "empty chained DocumentReference search", method: "GET", path: "/FHIR/DocumentReference?" + chained, facility: DefaultFacility,
			status: 200, emptyBundle: true},
		{name: "empty chained Media search", method: "GET", path: "/FHIR/Media?" + chained, facility: DefaultFacility,
			status: 200, emptyBundle: true},
		{name: "Media without identifier", method: "POST", path: "/FHIR/Media", facility: DefaultFacility,
			body: mustJSON(map[string]any{"resourceType": "Media", "status": "completed",
				"subject": map[string]string{"reference": "Patient/" + id},
				"content": map[string]string{"contentType": "image/jpeg", "data": base64.StdEncoding.EncodeToString([]byte("\xff\xd8"))}}),
			status: 400, exact: `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"business-rule","diagnostics":"` + MissingIdentifier + `"}]}`},
	}
	for _, c := range cases {
		st, b, _ := h.call(c.method, c.path, c.facility, c.body)
		switch {
		case st != c.status:
			t.Errorf("%s: %d %s, want %d", c.name, st, b, c.status)
		case c.exact != "":
			if got := string(bytes.TrimSpace(b)); got != c.exact {
				t.Errorf("%s: body %s\nwant %s", c.name, got, c.exact)
			}
		case c.emptyBundle:
			var bun fhir.Bundle
			if json.Unmarshal(b, &bun) != nil || bun.ResourceType != "Bundle" || len(bun.Entry) != 1 ||
				fhir.ResourceType(bun.Entry[0].Resource) != "OperationOutcome" {
				t.Errorf("%s: %s, want a Bundle whose only entry is an OperationOutcome", c.name, b)
			}
		default:
			if code, d := diagnostics(t, b); code != c.code || d != c.diags {
				t.Errorf("%s: %s %q, want %s %q", c.name, code, d, c.code, c.diags)
			}
		}
	}
	// A create answers 201 with ALEX's lowercase /fhir Location and a weak ETag.
	st, b, hdr := h.call("POST", "/FHIR/DocumentReference", DefaultFacility, docJSON(t, h, nil))
	loc := hdr.Get("Location")
	if st != 201 || !strings.HasPrefix(loc, h.srv.URL+"/fhir/DocumentReference/") || !strings.HasSuffix(loc, "/_history/1") ||
		hdr.Get("ETag") != `W/"1"` {
		t.Fatalf("create: %d %q %q %s", st, loc, hdr.Get("ETag"), b)
	}
	// The stored document is found by the chained shape, and only by it.
	st, b, _ = h.call("GET", "/FHIR/DocumentReference?"+chained, DefaultFacility, nil)
	if st != 200 || !bytes.Contains(b, []byte(`"item-1"`)) {
		t.Fatalf("chained search after the create: %d %s", st, b)
	}
	if st, _, _ := h.call("GET", "/FHIR/DocumentReference?identifier=item-1", DefaultFacility, nil); st != 403 {
		t.Fatalf("unfiltered search after the create: %d, want 403", st)
	}
}

// TestWriteFaults: the write-only faults answer with the recorded shapes and leave
// reads alone.
func TestWriteFaults(t *testing.T) {
	h := start(t, Options{})
	h.srv.SetFaults(Faults{ForbiddenWrites: 1, NotExposedWrites: 1, FailWrites: 1})
	if st, _, _ := h.call("GET", "/FHIR/Location", DefaultFacility, nil); st != 200 {
		t.Fatalf("a read under write faults: %d", st)
	}
	st, b, _ := h.call("POST", "/FHIR/DocumentReference", DefaultFacility, docJSON(t, h, nil))
	if code, d := diagnostics(t, b); st != 403 || code != "forbidden" || d != "Authorization failed." {
		t.Fatalf("forbidden write: %d %s", st, b)
	}
	st, b, _ = h.call("POST", "/FHIR/DocumentReference", DefaultFacility, docJSON(t, h, nil))
	if st != 404 || string(bytes.TrimSpace(b)) != `{"statusCode":404,"message":"Resource not found"}` {
		t.Fatalf("not exposed write: %d %s", st, b)
	}
	if st, _, _ = h.call("POST", "/FHIR/DocumentReference", DefaultFacility, docJSON(t, h, nil)); st != 500 {
		t.Fatalf("failed write: %d", st)
	}
	if n := len(h.srv.Documents()); n != 0 {
		t.Fatalf("%d documents stored by refused writes", n)
	}
	if st, _, _ = h.call("POST", "/FHIR/DocumentReference", DefaultFacility, docJSON(t, h, nil)); st != 201 {
		t.Fatalf("after the faults: %d", st)
	}
}

// TestPermissiveSearchIsOptIn: only a sandbox started with PermissiveSearch answers
// a search real ALEX refuses.
func TestPermissiveSearchIsOptIn(t *testing.T) {
	h := start(t, Options{PermissiveSearch: true})
	h.call("POST", "/FHIR/DocumentReference", DefaultFacility, docJSON(t, h, nil))
	st, b, _ := h.call("GET", "/FHIR/DocumentReference?identifier=item-1", DefaultFacility, nil)
	if st != 200 || !bytes.Contains(b, []byte(`"item-1"`)) {
		t.Fatalf("permissive identifier search: %d %s", st, b)
	}
	if st, _, _ := h.call("GET", "/FHIR/DocumentReference", DefaultFacility, nil); st != 403 {
		t.Fatalf("a search with no filter at all: %d, want 403 even when permissive", st)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestMediaCreateAndChainedSearch(t *testing.T) {
	h := start(t, Options{})
	pid := h.srv.PatientID(DefaultFacility, "ZZZ0016")
	body, _ := json.Marshal(map[string]any{"resourceType": "Media", "status": "completed",
		"identifier": []map[string]string{{"value": "m-1"}},
		"subject":    map[string]string{"reference": h.srv.URL + "/fhir/Patient/" + pid},
		"content":    map[string]string{"contentType": "image/jpeg", "title": "rash.jpg", "data": base64.StdEncoding.EncodeToString([]byte("\xff\xd8\xff"))}})
	st, b, hdr := h.call("POST", "/FHIR/Media", DefaultFacility, body)
	if st != 201 || !strings.Contains(hdr.Get("Location"), "/fhir/Media/") {
		t.Fatalf("create Media: %d %s", st, b)
	}
	st, b, _ = h.call("GET", "/FHIR/Media?patient.identifier="+url.QueryEscape(fhir.NHISystem+"|ZZZ0016"), DefaultFacility, nil)
	var bun fhir.Bundle
	if st != 200 || json.Unmarshal(b, &bun) != nil || len(bun.Entry) != 1 || fhir.ResourceType(bun.Entry[0].Resource) != "Media" {
		t.Fatalf("chained search: %d %s", st, b)
	}
	// Another patient's Media search stays empty.
	st, b, _ = h.call("GET", "/FHIR/Media?patient.identifier=ZZZ0024", DefaultFacility, nil)
	if json.Unmarshal(b, &bun) != nil || fhir.ResourceType(bun.Entry[0].Resource) != "OperationOutcome" {
		t.Fatalf("other patient: %d %s", st, b)
	}
}

func TestMediaWithoutIdentifier(t *testing.T) {
	h := start(t, Options{})
	body, _ := json.Marshal(map[string]any{"resourceType": "Media", "status": "completed",
		"subject": map[string]string{"reference": "Patient/" + h.srv.PatientID(DefaultFacility, "ZZZ0016")},
		"content": map[string]string{"contentType": "image/jpeg", "data": base64.StdEncoding.EncodeToString([]byte("\xff\xd8"))}})
	st, b, _ := h.call("POST", "/FHIR/Media", DefaultFacility, body)
	want := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"business-rule","diagnostics":"The mandatory Identifier.value with the reference number is missing"}]}`
	if st != 400 || string(bytes.TrimSpace(b)) != want {
		t.Fatalf("%d %s\nwant 400 %s", st, b, want)
	}
}

func TestAdminFaultsAndInspection(t *testing.T) {
	h := start(t, Options{})
	post := func(path, body string) int {
		resp, err := http.Post(h.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("/_sim/faults", `{"offline":["F2N060-E"]}`); st != 200 {
		t.Fatalf("POST faults: %d", st)
	}
	st, b, _ := h.call("GET", "/FHIR/Location", DefaultFacility, nil)
	if st != 503 {
		t.Fatalf("offline: %d %s", st, b)
	}
	post("/_sim/faults", `{"rateLimit":1,"retryAfterSeconds":3}`)
	if st, _, hdr := h.call("GET", "/FHIR/Location", DefaultFacility, nil); st != 429 || hdr.Get("Retry-After") != "3" {
		t.Fatalf("rate limit: %d %q", st, hdr.Get("Retry-After"))
	}
	post("/_sim/faults", `{"serverErrors":1}`)
	if st, _, _ := h.call("GET", "/FHIR/Location", DefaultFacility, nil); st != 500 {
		t.Fatalf("server error: %d", st)
	}
	if st, _, _ := h.call("GET", "/FHIR/Location", DefaultFacility, nil); st != 200 {
		t.Fatalf("after the one 500: %d", st)
	}
	if st := post("/_sim/tokens/expire", ""); st != 204 {
		t.Fatalf("expire: %d", st)
	}
	if st, _, _ := h.call("GET", "/FHIR/Location", DefaultFacility, nil); st != 401 {
		t.Fatalf("after expiry: %d, want 401", st)
	}
	resp, err := http.Get(h.srv.URL + "/_sim/faults")
	if err != nil {
		t.Fatal(err)
	}
	var active Faults
	if json.NewDecoder(resp.Body).Decode(&active) != nil || active.ServerErrors != 0 || active.RateLimit != 0 {
		t.Fatalf("faults after use: %+v", active)
	}
	resp.Body.Close()
	post("/_sim/faults", `{"offline":["*"]}`)
	req, _ := http.NewRequest("DELETE", h.srv.URL+"/_sim/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("DELETE faults: %v", err)
	} else {
		resp.Body.Close()
	}
	if len(h.srv.Faults().Offline) != 0 {
		t.Fatal("DELETE did not clear the faults")
	}
	if st := post("/_sim/faults", `not json`); st != 400 {
		t.Fatalf("bad faults body: %d", st)
	}
	// Ambiguous write: stored, then the connection is closed with no response.
	h2 := start(t, Options{})
	h2.srv.SetFaults(Faults{DropWrites: 1})
	req, _ = http.NewRequest("POST", h2.srv.URL+"/FHIR/DocumentReference", bytes.NewReader(docJSON(t, h2, nil)))
	req.Header.Set("Authorization", "Bearer "+h2.token)
	req.Header.Set("mt-facilityid", DefaultFacility)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped write answered %d", resp.StatusCode)
	}
	resp, err = http.Get(h2.srv.URL + "/_sim/documents")
	if err != nil {
		t.Fatal(err)
	}
	var docs []Document
	if json.NewDecoder(resp.Body).Decode(&docs) != nil || len(docs) != 1 || docs[0].Title != "x.tiff" {
		t.Fatalf("documents after drop: %+v", docs)
	}
	resp.Body.Close()
	resp, err = http.Get(h2.srv.URL + "/_sim/documents/" + docs[0].ID + "/content")
	if err != nil {
		t.Fatal(err)
	}
	content, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(content) != "II*\x00rest" || resp.Header.Get("Content-Type") != "image/tiff" {
		t.Fatalf("content %q %q", content, resp.Header.Get("Content-Type"))
	}
}

func TestLaunchDecode(t *testing.T) {
	now := clockAt()
	h := start(t, Options{Now: now.Now})
	resp, err := http.Post(h.srv.URL+"/_sim/launch", "application/json", strings.NewReader(`{"nhi":"ZZZ0016"}`))
	if err != nil {
		t.Fatal(err)
	}
	var minted struct{ Context, Signature, URL string }
	if json.NewDecoder(resp.Body).Decode(&minted) != nil || !strings.HasPrefix(minted.URL, "clinicpro://launch?context=") {
		t.Fatalf("minted %+v", minted)
	}
	resp.Body.Close()
	if strings.Contains(minted.Context, "ZZZ0016") || strings.Contains(minted.Context, h.srv.PatientID(DefaultFacility, "ZZZ0016")) {
		t.Fatal("launch context is not opaque")
	}
	path := func(c, s string) string {
		return "/vendorforms/api/getlaunchcontextstring/" + url.PathEscape(c) + "/" + url.PathEscape(s)
	}
	st, b, _ := h.call("GET", path(minted.Context, minted.Signature), DefaultFacility, nil)
	var lc struct {
		PatientID    *string `json:"patientId"`
		FacilityCode string  `json:"facilityCode"`
	}
	if st != 200 || json.Unmarshal(b, &lc) != nil || lc.PatientID == nil || *lc.PatientID != h.srv.PatientID(DefaultFacility, "ZZZ0016") {
		t.Fatalf("decode: %d %s", st, b)
	}
	bad := []byte(minted.Signature)
	bad[0] ^= 2
	if st, _, _ := h.call("GET", path(minted.Context, string(bad)), DefaultFacility, nil); st != 400 {
		t.Fatalf("tampered signature: %d, want 400", st)
	}
	c, s, _ := h.srv.MintLaunch(DefaultFacility, "", "")
	st, b, _ = h.call("GET", path(c, s), "", nil)
	if st != 200 || !bytes.Contains(b, []byte(`"patientId":null`)) {
		t.Fatalf("no-patient launch: %d %s", st, b)
	}
	now.Add(6 * 60e9)
	if st, _, _ := h.call("GET", path(c, s), "", nil); st != 400 {
		t.Fatalf("expired launch: %d, want 400", st)
	}
	if _, _, err := h.srv.MintLaunch(DefaultFacility, "ZAA0075", ""); !errors.Is(err, ErrUnknownPatient) {
		t.Fatalf("unknown patient: %v", err)
	}
}
