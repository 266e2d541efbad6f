package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/fhir"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/client"
)

func TestFullRun(t *testing.T) {
	e := start(t, Config{})
	ctx := context.Background()
	c, _ := e.connector(alexsim.DefaultFacility)

	lctx, sig, err := e.sim.MintLaunch(alexsim.DefaultFacility, "ZZZ0016", "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.Launch(ctx, lctx, sig)
	if err != nil {
		t.Fatal(err)
	}
	if l.Patient == nil || l.Patient.NHI != "ZZZ0016" || l.Patient.Name != "TESTING, Test" || l.Patient.BirthDate != "1970-01-01" ||
		l.Patient.ID != e.sim.PatientID(alexsim.DefaultFacility, "ZZZ0016") || l.Facility != alexsim.DefaultFacility ||
		l.ProviderID != alexsim.ProviderID(alexsim.DefaultFacility) {
		t.Fatal("launch returned the wrong banner, facility or provider")
	}
	// The tray's patient band: family, given names and ALEX's gender code travel apart.
	if l.Patient.Family != "TESTING" || l.Patient.Given != "Test" || l.Patient.Sex != "unknown" {
		t.Fatal("launch lacks the structured name or sex the patient band needs")
	}
	// No patient selected in Evolution.
	lctx, sig, _ = e.sim.MintLaunch(alexsim.DefaultFacility, "", "")
	if l, err := c.Launch(ctx, lctx, sig); err != nil || l.Patient != nil {
		t.Fatalf("launch without patient: %v, patient present %v", err, l.Patient != nil)
	}

	p, err := c.LookupPatient(ctx, "zzz00ac")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != e.sim.PatientID(alexsim.DefaultFacility, "ZZZ00AC") || p.NHI != "ZZZ00AC" || p.Sex != "female" || p.Family != "NGATA" {
		t.Fatal("lookup found the wrong patient")
	}
	_, err = c.LookupPatient(ctx, "ZZZ0024") // valid, seeded
	if err != nil {
		t.Fatal(err)
	}

	body := tiff(900 << 10)
	res, err := c.UploadDocument(ctx, doc("item-0001-aaaa", body))
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == "" || res.Replayed || res.Correlation == "" {
		t.Fatalf("upload result %+v", res)
	}
	docs := e.documents()
	if len(docs) != 1 || docs[0].ID != res.ID || docs[0].Size != len(body) || docs[0].ContentType != api.ContentTypeTIFF ||
		docs[0].PatientID != e.sim.PatientID(alexsim.DefaultFacility, "ZZZ0016") || docs[0].Facility != alexsim.DefaultFacility {
		t.Fatalf("ALEX holds %+v", docs)
	}
	stored, _, _ := e.sim.Content(res.ID)
	if !bytes.Equal(stored, body) {
		t.Fatal("ALEX stored different bytes")
	}

	// A replay writes nothing and answers with the first result.
	again, err := c.UploadDocument(ctx, doc("item-0001-aaaa", body))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.ID != res.ID || again.Correlation != res.Correlation {
		t.Fatalf("replay = %+v, first = %+v", again, res)
	}
	if n := len(e.documents()); n != 1 {
		t.Fatalf("replay wrote again: %d documents", n)
	}
	// The same key for other bytes is a bug in the agent, refused.
	_, err = c.UploadDocument(ctx, doc("item-0001-aaaa", pdf(1000)))
	wantKind(t, err, client.Permanent, api.CodeConflict)

	// A PDF by patient id.
	pd := doc("item-0002-bbbb", pdf(5000))
	pd.NHI, pd.PatientID = "", e.sim.PatientID(alexsim.DefaultFacility, "ZBN77VL")
	pres, err := c.UploadDocument(ctx, pd)
	if err != nil {
		t.Fatal(err)
	}

	d, err := c.ReadDocument(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != res.ID || d.Size != int64(len(body)) || d.ContentType != api.ContentTypeTIFF || d.IdempotencyKey != "item-0001-aaaa" ||
		d.SHA256 != sha256Hex(body) || d.SHA256Source != "alex" {
		t.Fatalf("read back %+v", d)
	}

	h, err := c.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.State != "ok" || len(h.Checks) != 4 || h.LastSuccess.IsZero() {
		t.Fatalf("health %+v", h)
	}

	// Another practice cannot read this one's documents by id.
	other, _ := e.connector(alexsim.LocalFacility)
	_, err = other.ReadDocument(ctx, pres.ID)
	wantKind(t, err, client.Permanent, api.CodeNotFound)

	// The audit trail has the operations, with patients only as keyed hashes.
	wantOps := []string{"enrol/ok", "token/ok", "launch/ok", "lookup/ok", "upload/ok", "upload/replayed", "upload/conflict", "read/ok", "read/not_found"}
	count := func(recs []audit.Record) map[string]int {
		ops := map[string]int{}
		for _, r := range recs {
			ops[r.Operation+"/"+r.Outcome]++
		}
		return ops
	}
	recs := e.auditWhere(100, func(recs []audit.Record) bool {
		ops := count(recs)
		for _, w := range wantOps {
			if ops[w] == 0 {
				return false
			}
		}
		return true
	})
	ops := count(recs)
	for _, r := range recs {
		if r.PatientHash != "" && len(r.PatientHash) != 24 {
			t.Fatalf("audit patient hash %q is not a keyed hash", r.PatientHash)
		}
		for _, tp := range alexsim.TestPatients {
			if r.PatientHash == tp.NHI || r.PatientHash == e.sim.PatientID(alexsim.DefaultFacility, tp.NHI) {
				t.Fatal("audit row holds a patient identifier in clear")
			}
		}
	}
	for _, want := range wantOps {
		if ops[want] == 0 {
			t.Errorf("no audit row for %s (have %v)", want, ops)
		}
	}
	var upRow bool
	for _, r := range recs {
		if r.Operation == "upload" && r.Outcome == "ok" && r.ALEXID == res.ID {
			upRow = r.BytesIn == int64(len(body)) && r.PatientHash == e.aud.PatientHash("ZZZ0016") && r.Correlation == res.Correlation
		}
	}
	if !upRow {
		t.Error("the upload's audit row lacks its size, patient hash or correlation id")
	}
}

func TestCrossFacilityLaunchRefused(t *testing.T) {
	e := start(t, Config{})
	c, _ := e.connector(alexsim.DefaultFacility)
	// A launch from the other facility's Evolution, replayed through this connector.
	lctx, sig, err := e.sim.MintLaunch(alexsim.LocalFacility, "ZZZ0016", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Launch(context.Background(), lctx, sig)
	ce := wantKind(t, err, client.Permanent, api.CodeForbidden)
	if ce.Status != http.StatusForbidden || !strings.Contains(ce.Message, alexsim.LocalFacility) {
		t.Fatalf("refusal %+v", ce)
	}
	for _, r := range e.sim.Requests() {
		if strings.Contains(r.Path, "Patient") {
			t.Fatal("the relay read a patient of another facility")
		}
	}
}

func TestRevokedAndExpiredCredentials(t *testing.T) {
	e := start(t, Config{TokenTTL: time.Hour})
	ctx := context.Background()
	now := time.Now()
	e.reg.SetClock(func() time.Time { return now })
	c, creds := e.connector(alexsim.DefaultFacility)
	if _, err := c.LookupPatient(ctx, "ZZZ0016"); err != nil {
		t.Fatal(err)
	}
	// The relay's token expires; the client's cached one is refused once, then the
	// client fetches a new one.
	now = now.Add(2 * time.Hour)
	_, err := c.LookupPatient(ctx, "ZZZ0016")
	wantKind(t, err, client.Retryable, api.CodeUnauthorized)
	if _, err := c.LookupPatient(ctx, "ZZZ0016"); err != nil {
		t.Fatalf("after a fresh token: %v", err)
	}

	if err := e.reg.Revoke(ctx, creds.ClientID); err != nil {
		t.Fatal(err)
	}
	before := len(e.sim.Requests())
	_, err = c.LookupPatient(ctx, "ZZZ0016")
	wantKind(t, err, client.Retryable, api.CodeUnauthorized)
	_, err = c.UploadDocument(ctx, doc("item-revoked-1", tiff(1000)))
	ce := wantKind(t, err, client.Permanent, "invalid_client")
	if !strings.Contains(ce.Message, "enrol") {
		t.Fatalf("revoked message does not say what to do: %q", ce.Message)
	}
	if len(e.sim.Requests()) != before || len(e.documents()) != 0 {
		t.Fatal("a revoked connector reached ALEX")
	}

	// An expired enrolment code.
	_, code, _ := e.reg.Add(ctx, alexsim.DefaultFacility, "late")
	now = now.Add(73 * time.Hour)
	_, err = client.Enrol(ctx, e.url, code)
	ce = wantKind(t, err, client.Permanent, api.CodeEnrolCodeExpired)
	if !strings.Contains(ce.Message, "expired") {
		t.Fatalf("expired code message %q", ce.Message)
	}
}

func TestAmbiguousWriteStoredOnce(t *testing.T) {
	e := start(t, Config{})
	ctx := context.Background()
	c, _ := e.connector(alexsim.DefaultFacility)
	e.sim.SetFaults(alexsim.Faults{DropWrites: 1})
	body := tiff(20000)
	_, err := c.UploadDocument(ctx, doc("item-ambiguous-1", body))
	wantKind(t, err, client.Ambiguous, api.CodeAmbiguous)
	if n := len(e.documents()); n != 1 {
		t.Fatalf("the dropped write should be stored by ALEX: %d documents", n)
	}
	res, err := c.UploadDocument(ctx, doc("item-ambiguous-1", body))
	if err != nil {
		t.Fatal(err)
	}
	docs := e.documents()
	if len(docs) != 1 || res.ID != docs[0].ID || !res.Replayed {
		t.Fatalf("retry after ambiguity: %+v; ALEX holds %d", res, len(docs))
	}
	// And a replay after that is answered from the ledger without ALEX.
	before := len(e.sim.Requests())
	if _, err := c.UploadDocument(ctx, doc("item-ambiguous-1", body)); err != nil {
		t.Fatal(err)
	}
	if len(e.sim.Requests()) != before {
		t.Fatal("a settled replay called ALEX")
	}
}

// TestAmbiguousWriteFoundForALaunchedPatient: an upload that names the patient by
// ALEX id (from a launch) is looked up by the patient's NHI, read from ALEX, since
// the chained search is the only one ALEX allows.
func TestAmbiguousWriteFoundForALaunchedPatient(t *testing.T) {
	e := start(t, Config{})
	ctx := context.Background()
	c, _ := e.connector(alexsim.DefaultFacility)
	e.sim.SetFaults(alexsim.Faults{DropWrites: 1})
	body := tiff(5000)
	d := doc("item-launched-1", body)
	d.NHI, d.PatientID = "", e.sim.PatientID(alexsim.DefaultFacility, "ZZZ0016")
	_, err := c.UploadDocument(ctx, d)
	wantKind(t, err, client.Ambiguous, api.CodeAmbiguous)
	d.Body = bytes.NewReader(body)
	res, err := c.UploadDocument(ctx, d)
	if err != nil || !res.Replayed || len(e.documents()) != 1 {
		t.Fatalf("retry: %+v %v; ALEX holds %d", res, err, len(e.documents()))
	}
}

// TestAmbiguousWriteWaitsForAPersonWhenSearchIsRefused: with no search ALEX allows
// (the unfiltered identifier search, which real ALEX answers 403, or none at all) an
// ambiguous write is answered 409 unresolved, never the retryable 502 that made the
// agent pause every practice's uploads.
func TestAmbiguousWriteWaitsForAPersonWhenSearchIsRefused(t *testing.T) {
	for _, shape := range []alex.SearchShape{alex.SearchByIdentifier, alex.SearchNone} {
		t.Run(string(shape), func(t *testing.T) {
			e := start(t, Config{}, func(c *alex.Config) { c.DocumentSearch = shape })
			ctx := context.Background()
			c, _ := e.connector(alexsim.DefaultFacility)
			e.sim.SetFaults(alexsim.Faults{DropWrites: 1})
			body := tiff(4000)
			_, err := c.UploadDocument(ctx, doc("item-refused-1", body))
			wantKind(t, err, client.Ambiguous, api.CodeAmbiguous)
			for i := 0; i < 2; i++ {
				_, err = c.UploadDocument(ctx, doc("item-refused-1", body))
				ce := wantKind(t, err, client.Permanent, api.CodeUnresolved)
				if ce.Status != http.StatusConflict || !strings.Contains(ce.Message, "Inbox Scan") {
					t.Fatalf("unresolved answer %+v", ce)
				}
			}
			if n := len(e.documents()); n != 1 {
				t.Fatalf("ALEX holds %d documents, want the one dropped write", n)
			}
		})
	}
}

// TestSendAgainAfterARefusedSearchStoresOnce: the write ALEX failed (500, nothing
// stored) cannot be checked because ALEX refuses the search; the item waits for a
// person. One explicit Send again, under the next key naming the one it replaces,
// stores it once and leaves the release in the audit. A Send again whose earlier key
// turns out stored answers with that document instead of writing a second.
func TestSendAgainAfterARefusedSearchStoresOnce(t *testing.T) {
	e := start(t, Config{}, func(c *alex.Config) { c.DocumentSearch = alex.SearchByIdentifier })
	ctx := context.Background()
	c, _ := e.connector(alexsim.DefaultFacility)
	body := tiff(6000)
	// Named by ALEX id (a launch), the write is the first ALEX call: the one failed.
	launched := func(key string) client.DocumentUpload {
		d := doc(key, body)
		d.NHI, d.PatientID = "", e.sim.PatientID(alexsim.DefaultFacility, "ZZZ0016")
		return d
	}
	e.sim.SetFaults(alexsim.Faults{ServerErrors: 1})
	_, err := c.UploadDocument(ctx, launched("item-again-1"))
	wantKind(t, err, client.Ambiguous, api.CodeAmbiguous)
	_, err = c.UploadDocument(ctx, launched("item-again-1"))
	wantKind(t, err, client.Permanent, api.CodeUnresolved)
	if n := len(e.documents()); n != 0 {
		t.Fatalf("%d documents before Send again", n)
	}
	again := launched("item-again-1.2")
	again.Supersedes = "item-again-1"
	res, err := c.UploadDocument(ctx, again)
	if err != nil || res.Replayed {
		t.Fatalf("send again: %+v %v", res, err)
	}
	if n := len(e.documents()); n != 1 {
		t.Fatalf("%d documents after Send again, want 1", n)
	}
	releasedIn := func(recs []audit.Record) bool {
		for _, r := range recs {
			if r.Operation == "send_again" && r.Outcome == "released" {
				return true
			}
		}
		return false
	}
	recs := e.auditWhere(20, releasedIn)
	released := releasedIn(recs)
	if !released {
		t.Fatalf("no send_again release in the audit: %+v", recs)
	}
	// Replaying the Send again answers from the ledger.
	again.Body = bytes.NewReader(body)
	if res2, err := c.UploadDocument(ctx, again); err != nil || !res2.Replayed || res2.ID != res.ID {
		t.Fatalf("replayed send again: %+v %v", res2, err)
	}

	// A Send again whose earlier key was stored after all gets that document back.
	stored, err := c.UploadDocument(ctx, doc("item-again-2", body))
	if err != nil {
		t.Fatal(err)
	}
	late := doc("item-again-2.2", body)
	late.Supersedes = "item-again-2"
	res3, err := c.UploadDocument(ctx, late)
	if err != nil || res3.ID != stored.ID || !res3.Replayed || len(e.documents()) != 2 {
		t.Fatalf("send again of a stored key: %+v %v; ALEX holds %d", res3, err, len(e.documents()))
	}
}

// TestReplayAnswersWithTheRecordedTime: a replay says the same created time as the
// first answer, the time the ledger recorded.
func TestReplayAnswersWithTheRecordedTime(t *testing.T) {
	e := start(t, Config{})
	ctx := context.Background()
	c, _ := e.connector(alexsim.DefaultFacility)
	body := tiff(2000)
	first, err := c.UploadDocument(ctx, doc("item-time-1", body))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a replay at a later moment
	again, err := c.UploadDocument(ctx, doc("item-time-1", body))
	if err != nil || !again.Replayed {
		t.Fatal(err)
	}
	if !first.Document.Created.Equal(again.Document.Created) || first.Document.Created.IsZero() {
		t.Fatalf("first answer created %v, replay %v", first.Document.Created, again.Document.Created)
	}
}

// TestEveryContractFieldReachesTheDocumentReference: author, date taken, the type
// of its kind, coded laterality and body site, and a title cleaned the way the agent
// cleans it, all land in what ALEX stores.
func TestEveryContractFieldReachesTheDocumentReference(t *testing.T) {
	e := start(t, Config{}, func(c *alex.Config) { c.BodySite = alex.BodySiteBoth })
	ctx := context.Background()
	c, _ := e.connector(alexsim.DefaultFacility)
	taken := time.Date(2026, 11, 20, 1, 5, 6, 0, time.UTC)
	d := doc("item-contract-1", pdf(3000))
	d.Kind, d.Source, d.ProviderID = api.KindDocument, api.SourceCamera, alexsim.ProviderID(alexsim.DefaultFacility)
	d.Laterality, d.BodySite, d.BodySiteCode, d.ClinicalDate = api.LateralityLeft, "Knee", "72696002", taken
	d.Title = "Referral \u202eevil\u202c\n\tletter " + strings.Repeat("é", 300)
	if _, err := c.UploadDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	docs := e.documents()
	if len(docs) != 1 {
		t.Fatalf("%d documents", len(docs))
	}
	var r fhir.DocumentReference
	if err := json.Unmarshal(docs[0].Resource, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Author) != 1 || !strings.HasSuffix(r.Author[0].Reference, "/fhir/Practitioner/"+alexsim.ProviderID(alexsim.DefaultFacility)) {
		t.Errorf("author %+v", r.Author)
	}
	if r.Date != "2026-11-20T14:05:06+13:00" || r.Content[0].Attachment.Creation != r.Date {
		t.Errorf("date %q creation %q, want the date taken in NZ time", r.Date, r.Content[0].Attachment.Creation)
	}
	if r.Type == nil || r.Type.Coding[0].Code != "51852-2" {
		t.Errorf("type %+v, want the document kind's code", r.Type)
	}
	codes := map[string]bool{}
	for _, ext := range r.Extension {
		if ext.ValueCodeableConcept != nil {
			for _, cd := range ext.ValueCodeableConcept.Coding {
				codes[cd.System+"|"+cd.Code] = true
			}
		}
	}
	if !codes["http://snomed.info/sct|72696002"] || !codes["http://snomed.info/sct|7771000"] || !strings.Contains(r.Description, "Left knee") {
		t.Errorf("body site: codes %v, description %q", codes, r.Description)
	}
	title := r.Content[0].Attachment.Title
	if strings.ContainsAny(title, "\u202e\u202c\n\t") || !strings.HasPrefix(title, "Referral evil letter éé") || utf8.RuneCountInString(title) != api.MaxTitle {
		t.Errorf("title %q (%d runes) was not cleaned and cut like the agent's", title, utf8.RuneCountInString(title))
	}

	// A photo without a kind is a photo; the contract's vocabulary is checked.
	p := doc("item-contract-2", tiff(2000))
	if _, err := c.UploadDocument(ctx, p); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(e.documents()[1].Resource, &r)
	if r.Type.Coding[0].Code != "72170-4" {
		t.Errorf("photo type %+v", r.Type)
	}
	for name, mut := range map[string]func(*client.DocumentUpload){
		"unknown kind":          func(d *client.DocumentUpload) { d.Kind = "x-ray" },
		"unknown source":        func(d *client.DocumentUpload) { d.Source = "fax" },
		"code not in the list":  func(d *client.DocumentUpload) { d.BodySite, d.BodySiteCode = "Knee", "72696003" },
		"taken next week":       func(d *client.DocumentUpload) { d.ClinicalDate = time.Now().Add(7 * 24 * time.Hour) },
		"title of only control": func(d *client.DocumentUpload) { d.Title = "\u202e\u0007" },
	} {
		b := doc("item-contract-bad", tiff(500))
		mut(&b)
		_, err := c.UploadDocument(ctx, b)
		wantKind(t, err, client.Permanent, api.CodeInvalidRequest)
		if t.Failed() {
			t.Fatalf("%s was accepted", name)
		}
	}
}

func TestAmbiguousWriteNotStoredIsWrittenOnRetry(t *testing.T) {
	e := start(t, Config{})
	ctx := context.Background()
	c, _ := e.connector(alexsim.DefaultFacility)
	// 500 from ALEX on the write: ambiguous by the ALEX client's rules, but nothing
	// stored. The retry looks, finds nothing, writes once.
	e.sim.SetFaults(alexsim.Faults{ServerErrors: 1})
	_, err := c.UploadDocument(ctx, doc("item-ambiguous-2", tiff(3000)))
	if client.KindOf(err) == client.Permanent || err == nil {
		t.Fatalf("a 500 from ALEX must not be permanent: %v", err)
	}
	if _, err := c.UploadDocument(ctx, doc("item-ambiguous-2", tiff(3000))); err != nil {
		t.Fatal(err)
	}
	if n := len(e.documents()); n != 1 {
		t.Fatalf("%d documents, want 1", n)
	}
}

func TestFacilityOffline(t *testing.T) {
	e := start(t, Config{})
	ctx := context.Background()
	c, _ := e.connector(alexsim.DefaultFacility)
	e.sim.SetFaults(alexsim.Faults{Offline: []string{alexsim.DefaultFacility}})
	_, err := c.UploadDocument(ctx, doc("item-offline-1", tiff(1000)))
	ce := wantKind(t, err, client.Retryable, api.CodeFacilityOffline)
	if api.CauseOf(err) != api.CauseFacilityOffline || !strings.Contains(ce.Message, "Hybrid Connection Manager") {
		t.Fatalf("offline error %+v", ce)
	}
	h, err := c.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var fac string
	for _, ch := range h.Checks {
		if ch.Name == "facility.reachable" {
			fac = ch.State
		}
	}
	if h.State != "offline" || fac != "offline" {
		t.Fatalf("health while offline: %+v", h)
	}
	// Back online, the same item goes through.
	e.sim.SetFaults(alexsim.Faults{})
	if _, err := c.UploadDocument(ctx, doc("item-offline-1", tiff(1000))); err != nil {
		t.Fatal(err)
	}
}

func TestRateLimit(t *testing.T) {
	e := start(t, Config{Rate: 0.001, Burst: 2})
	c, _ := e.connector(alexsim.DefaultFacility)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := c.LookupPatient(ctx, "ZZZ0016"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.LookupPatient(ctx, "ZZZ0016")
	ce := wantKind(t, err, client.Retryable, api.CodeRateLimited)
	if ce.RetryAfter <= 0 {
		t.Fatal("429 without Retry-After")
	}
}

// TestStandardOAuth2Clients checks the token endpoint with both client
// authentication styles a standard library uses, and the RFC's error answers.
func TestStandardOAuth2Clients(t *testing.T) {
	e := start(t, Config{})
	_, creds := e.connector(alexsim.DefaultFacility)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: creds.ClientID, ClientSecret: creds.Secret, TokenURL: e.url + api.PathToken, AuthStyle: style}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatalf("style %d: %v", style, err)
		}
		if tok.TokenType != "Bearer" || tok.AccessToken == "" || time.Until(tok.Expiry) < time.Minute {
			t.Fatalf("style %d: token %+v", style, tok)
		}
		// The token works against the API.
		req, _ := http.NewRequest(http.MethodGet, e.url+api.PathHealth, nil)
		tok.SetAuthHeader(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("health with a standard token: %d", resp.StatusCode)
		}
	}
	post := func(ct, body string, basic bool) (int, api.TokenError) {
		req, _ := http.NewRequest(http.MethodPost, e.url+api.PathToken, strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if basic {
			req.SetBasicAuth(url.QueryEscape(creds.ClientID), url.QueryEscape(creds.Secret))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var te api.TokenError
		_ = json.NewDecoder(resp.Body).Decode(&te)
		return resp.StatusCode, te
	}
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, ct, body string
		basic          bool
		status         int
		code           string
	}{
		{"wrong grant", form, "grant_type=password", true, 400, "unsupported_grant_type"},
		{"json body", "application/json", `{"grant_type":"client_credentials"}`, true, 400, "invalid_request"},
		{"no client auth", form, "grant_type=client_credentials", false, 401, "invalid_client"},
		{"wrong secret", form, "grant_type=client_credentials&client_id=" + creds.ClientID + "&client_secret=nope", false, 401, "invalid_client"},
		{"two auth methods", form, "grant_type=client_credentials&client_secret=x", true, 400, "invalid_request"},
	}
	for _, tc := range cases {
		st, te := post(tc.ct, tc.body, tc.basic)
		if st != tc.status || te.Error != tc.code || te.Description == "" {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, st, te, tc.status, tc.code)
		}
	}
}

// rawUpload sends a hand-built upload so malformed requests can be tried.
func rawUpload(t *testing.T, e *env, token, contentType string, body io.Reader) (int, api.Error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+api.PathDocument, body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ae api.Error
	_ = json.NewDecoder(resp.Body).Decode(&ae)
	return resp.StatusCode, ae
}

type part struct {
	name string
	body []byte
}

func multipartBody(parts ...part) (string, *bytes.Buffer) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+p.name+`"`)
		w, _ := mw.CreatePart(h)
		w.Write(p.body)
	}
	mw.Close()
	return mw.FormDataContentType(), &b
}

func metaJSON(mut func(m map[string]any)) []byte {
	m := map[string]any{"idempotencyKey": "item-bad-input-1", "nhi": "ZZZ0016", "title": "Knee", "contentType": "image/tiff", "size": 1000}
	if mut != nil {
		mut(m)
	}
	b, _ := json.Marshal(m)
	return b
}

func TestBadInputIsRefusedBeforeALEX(t *testing.T) {
	e := start(t, Config{})
	_, creds := e.connector(alexsim.DefaultFacility)
	cc := clientcredentials.Config{ClientID: creds.ClientID, ClientSecret: creds.Secret, TokenURL: e.url + api.PathToken}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	good := tiff(1000)
	type tc struct {
		name   string
		ct     string
		body   func() io.Reader
		status int
		code   string
	}
	mp := func(parts ...part) (string, func() io.Reader) {
		ct, b := multipartBody(parts...)
		raw := b.Bytes()
		return ct, func() io.Reader { return bytes.NewReader(raw) }
	}
	var cases []tc
	add := func(name string, status int, code string, parts ...part) {
		ct, body := mp(parts...)
		cases = append(cases, tc{name, ct, body, status, code})
	}
	add("malformed metadata", 400, api.CodeInvalidRequest, part{"metadata", []byte(`{"idempotencyKey":`)}, part{"file", good})
	add("unknown field", 400, api.CodeInvalidRequest, part{"metadata", metaJSON(func(m map[string]any) { m["patientName"] = "x" })}, part{"file", good})
	add("invalid NHI", 400, api.CodeInvalidRequest, part{"metadata", metaJSON(func(m map[string]any) { m["nhi"] = "ZZZ0017" })}, part{"file", good})
	add("both patient id and NHI", 400, api.CodeInvalidRequest, part{"metadata", metaJSON(func(m map[string]any) { m["patientId"] = "abc" })}, part{"file", good})
	add("bad key", 400, api.CodeInvalidRequest, part{"metadata", metaJSON(func(m map[string]any) { m["idempotencyKey"] = "x" })}, part{"file", good})
	add("bad laterality", 400, api.CodeInvalidRequest, part{"metadata", metaJSON(func(m map[string]any) { m["laterality"] = "up" })}, part{"file", good})
	add("bad date", 400, api.CodeInvalidRequest, part{"metadata", metaJSON(func(m map[string]any) { m["clinicalDate"] = "yesterday" })}, part{"file", good})
	add("jpeg declared", 415, api.CodeUnsupportedMedia, part{"metadata", metaJSON(func(m map[string]any) { m["contentType"] = "image/jpeg" })}, part{"file", good})
	add("jpeg bytes", 415, api.CodeUnsupportedMedia, part{"metadata", metaJSON(nil)}, part{"file", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, good[4:]...)})
	add("pdf bytes declared tiff", 415, api.CodeUnsupportedMedia, part{"metadata", metaJSON(nil)}, part{"file", pdf(1000)})
	add("size mismatch", 400, api.CodeInvalidRequest, part{"metadata", metaJSON(nil)}, part{"file", good[:999]})
	add("file first", 400, api.CodeInvalidRequest, part{"file", good}, part{"metadata", metaJSON(nil)})
	add("extra part", 400, api.CodeInvalidRequest, part{"metadata", metaJSON(nil)}, part{"file", good}, part{"file", good})
	add("declared oversize", 413, api.CodeTooLarge, part{"metadata", metaJSON(func(m map[string]any) { m["size"] = 2 << 20 })}, part{"file", good})
	big := tiff(3 << 20)
	add("actual oversize", 413, api.CodeTooLarge, part{"metadata", metaJSON(func(m map[string]any) { m["size"] = len(big) })}, part{"file", big})
	add("no file", 400, api.CodeInvalidRequest, part{"metadata", metaJSON(nil)})
	cases = append(cases,
		tc{"json body", "application/json", func() io.Reader { return strings.NewReader(`{}`) }, 415, api.CodeUnsupportedMedia},
		tc{"no boundary", "multipart/form-data", func() io.Reader { return strings.NewReader(`x`) }, 415, api.CodeUnsupportedMedia},
		tc{"garbage multipart", "multipart/form-data; boundary=zz", func() io.Reader { return strings.NewReader("not multipart") }, 400, api.CodeInvalidRequest},
	)
	for _, c := range cases {
		st, ae := rawUpload(t, e, tok.AccessToken, c.ct, c.body())
		if st != c.status || ae.Code != c.code || ae.Message == "" || ae.Correlation == "" {
			t.Errorf("%s: %d %+v, want %d %s", c.name, st, ae, c.status, c.code)
		}
	}

	// JSON endpoints.
	jsonCases := []struct {
		name, path, ct, body string
		status               int
		code                 string
	}{
		{"lookup malformed", api.PathLookup, "application/json", `{"nhi":`, 400, api.CodeInvalidRequest},
		{"lookup unknown field", api.PathLookup, "application/json", `{"nhi":"ZZZ0016","dob":"x"}`, 400, api.CodeInvalidRequest},
		{"lookup trailing data", api.PathLookup, "application/json", `{"nhi":"ZZZ0016"} {}`, 400, api.CodeInvalidRequest},
		{"lookup invalid NHI", api.PathLookup, "application/json", `{"nhi":"ZZZ0044"}`, 400, api.CodeInvalidRequest},
		{"lookup form", api.PathLookup, "application/x-www-form-urlencoded", `nhi=ZZZ0016`, 415, api.CodeUnsupportedMedia},
		{"lookup oversize", api.PathLookup, "application/json", `{"nhi":"` + strings.Repeat("Z", 20000) + `"}`, 413, api.CodeTooLarge},
		{"launch empty", api.PathLaunch, "application/json", `{"context":"","signature":""}`, 400, api.CodeInvalidRequest},
		{"enrol malformed", api.PathEnrol, "application/json", `[`, 400, api.CodeInvalidRequest},
		{"enrol unknown code", api.PathEnrol, "application/json", `{"code":"AAAAA-BBBBB"}`, 400, api.CodeInvalidRequest},
	}
	for _, c := range jsonCases {
		req, _ := http.NewRequest(http.MethodPost, e.url+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ae api.Error
		_ = json.NewDecoder(resp.Body).Decode(&ae)
		resp.Body.Close()
		if resp.StatusCode != c.status || ae.Code != c.code || ae.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s", c.name, resp.StatusCode, ae, c.status, c.code)
		}
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Fatalf("bad input reached ALEX %d times: %+v", n, e.sim.Requests())
	}

	// No token, bad token.
	for _, auth := range []string{"", "Bearer nope"} {
		req, _ := http.NewRequest(http.MethodGet, e.url+api.PathHealth, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("auth %q: %d", auth, resp.StatusCode)
		}
	}
}

func TestUnauthenticatedProbes(t *testing.T) {
	e := start(t, Config{})
	for _, p := range []string{api.PathHealthz, api.PathReadyz} {
		resp, err := http.Get(e.url + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Contains(string(b), "F2N060") {
			t.Errorf("%s: %d %s", p, resp.StatusCode, b)
		}
	}
	resp, err := http.Get(e.url + "/v1/patients?nhi=ZZZ0016")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the query-string lookup must not exist: %d", resp.StatusCode)
	}
}

func TestListenPolicy(t *testing.T) {
	for _, tc := range []struct {
		p  ListenPolicy
		ok bool
	}{
		{ListenPolicy{Addr: "127.0.0.1:8443"}, true},
		{ListenPolicy{Addr: "[::1]:8443"}, true},
		{ListenPolicy{Addr: "localhost:8443"}, true},
		{ListenPolicy{Addr: "0.0.0.0:8443"}, false},
		{ListenPolicy{Addr: ":8443"}, false},
		{ListenPolicy{Addr: "203.0.113.5:443"}, false},
		{ListenPolicy{Addr: "203.0.113.5:443", CertFile: "c", KeyFile: "k"}, true},
		{ListenPolicy{Addr: "0.0.0.0:8080", AllowInsecurePublic: true}, true},
		{ListenPolicy{Addr: "127.0.0.1:8443", CertFile: "c"}, false},
	} {
		if err := tc.p.Check(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.p, err)
		}
	}
}

func TestConfigRefusesUploadLimitAboveALEX(t *testing.T) {
	if _, err := New(Config{MaxUpload: 9 << 20, SpoolDir: t.TempDir()}, nil, nil, nil, nil); err == nil {
		t.Fatal("a 9 MiB limit was accepted")
	}
}

func TestWrongEnrolmentCodesAreLimitedRightOnesAreNot(t *testing.T) {
	e := start(t, Config{})
	ctx := context.Background()
	// Many practices enrolling at once are never throttled.
	for i := 0; i < 15; i++ {
		e.connector(alexsim.DefaultFacility)
	}
	var limited *client.Error
	for i := 0; i < 30 && limited == nil; i++ {
		_, err := client.Enrol(ctx, e.url, "ZZZZZ-ZZZZZ")
		if ce, ok := err.(*client.Error); ok && ce.Code == api.CodeRateLimited {
			limited = ce
		}
	}
	if limited == nil || limited.Kind != client.Retryable || limited.RetryAfter <= 0 {
		t.Fatalf("30 wrong codes in a row were not limited: %+v", limited)
	}
}

func TestHealthNamesTheFailingPart(t *testing.T) {
	e := start(t, Config{HealthCacheFor: time.Nanosecond})
	c, _ := e.connector(alexsim.DefaultFacility)
	state := func() map[string]string {
		t.Helper()
		h, err := c.Health(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{"": h.State}
		for _, ch := range h.Checks {
			m[ch.Name] = ch.State
		}
		return m
	}
	e.sim.SetFaults(alexsim.Faults{Unauthorized: 10})
	if s := state(); s["alex.token"] != "offline" || s[""] != "offline" {
		t.Fatalf("ALEX refusing the relay's credentials: %v", s)
	}
	e.sim.SetFaults(alexsim.Faults{})
	e.sim.Close()
	if s := state(); s["alex.reachable"] != "offline" || s["relay"] != "ok" {
		t.Fatalf("ALEX down: %v", s)
	}
}

// TestOversizeThroughTheClient: the relay refuses as soon as it reads the metadata,
// while the client is still sending; the agent must see the 413, not a broken pipe.
func TestOversizeThroughTheClient(t *testing.T) {
	e := start(t, Config{})
	c, _ := e.connector(alexsim.DefaultFacility)
	_, err := c.UploadDocument(context.Background(), doc("item-too-big-1", tiff(6<<20)))
	ce := wantKind(t, err, client.Permanent, api.CodeTooLarge)
	if ce.Status != http.StatusRequestEntityTooLarge || !strings.Contains(ce.Message, "smaller size budget") {
		t.Fatalf("oversize: %+v", ce)
	}
	if len(e.sim.Requests()) != 0 {
		t.Fatal("an oversize upload reached ALEX")
	}
}
