package alex_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/alexsim"
)

// Client behaviour against alexsim's faults and edge cases: these cannot be provoked
// on real ALEX on demand, so they run against the sandbox only.

func patientID(t *testing.T, e *simEnv) string {
	t.Helper()
	id := e.srv.PatientID(alexsim.DefaultFacility, string(testNHI))
	if id == "" {
		t.Fatal("sandbox has no ZZZ0016")
	}
	return id
}

func TestTokenIsCachedAndRefreshedBeforeExpiry(t *testing.T) {
	e := startSim(t, alexsim.Options{TokenTTL: time.Hour}, nil)
	ctx := context.Background()
	for range 3 {
		if _, err := e.client.Ping(ctx, alexsim.DefaultFacility); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.tokens.n.Load(); n != 1 {
		t.Fatalf("token requests = %d after 3 calls, want 1 (cached)", n)
	}
	// Inside the refresh margin but before expiry: the client must renew on its own,
	// without first seeing a 401.
	e.clock.Add(58 * time.Minute)
	info, err := e.client.Ping(ctx, alexsim.DefaultFacility)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.tokens.n.Load(); n != 2 || info.Attempts != 1 {
		t.Fatalf("token requests = %d, attempts = %d, want 2 and 1", n, info.Attempts)
	}
	// Past expiry the sandbox refuses the old token for real.
	e.clock.Add(2 * time.Hour)
	if _, err := e.client.Ping(ctx, alexsim.DefaultFacility); err != nil {
		t.Fatal(err)
	}
	if n := e.tokens.n.Load(); n != 3 {
		t.Fatalf("token requests = %d, want 3", n)
	}
}

func TestRevokedTokenIsRetriedOnceWithAFreshOne(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	ctx := context.Background()
	if _, err := e.client.Ping(ctx, alexsim.DefaultFacility); err != nil {
		t.Fatal(err)
	}
	e.srv.SetFaults(alexsim.Faults{ExpireTokens: true})
	info, err := e.client.Ping(ctx, alexsim.DefaultFacility)
	if err != nil {
		t.Fatalf("after token expiry: %v", err)
	}
	if info.Attempts != 2 || e.tokens.n.Load() != 2 {
		t.Fatalf("attempts = %d, tokens = %d, want 2 and 2", info.Attempts, e.tokens.n.Load())
	}
	// Two 401s in a row: one retry only, then a clear error.
	e.srv.SetFaults(alexsim.Faults{Unauthorized: 2})
	_, err = e.client.Ping(ctx, alexsim.DefaultFacility)
	if !errors.Is(err, alex.ErrUnauthorized) || alex.Retryable(err) {
		t.Fatalf("err = %v, want ErrUnauthorized, not retryable", err)
	}
}

func TestWrongSecretIsUnauthorized(t *testing.T) {
	e := startSim(t, alexsim.Options{}, func(c *alex.Config) { c.ClientSecret = "wrong" })
	_, err := e.client.Ping(context.Background(), alexsim.DefaultFacility)
	if !errors.Is(err, alex.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatal("error text carries the secret")
	}
}

func TestHeadersAndCorrelation(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	ctx := alex.WithCorrelation(context.Background(), "corr-123")
	if _, err := e.client.Ping(ctx, alexsim.DefaultFacility); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.client.CreateScanDocument(ctx, alexsim.DefaultFacility, alex.ScanDocument{
		Identifier: "k1", PatientID: patientID(t, e), ContentType: alex.ContentTypeTIFF, Data: tiff(100)}); err != nil {
		t.Fatal(err)
	}
	reqs := e.srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %+v", reqs)
	}
	for _, r := range reqs {
		if r.Facility != alexsim.DefaultFacility || r.Correlation != "corr-123" || r.AppID != "clinicpro-test" {
			t.Errorf("%s %s sent facility=%q correlation=%q appid=%q", r.Method, r.Path, r.Facility, r.Correlation, r.AppID)
		}
	}
	if reqs[1].Method != "POST" || reqs[1].ContentType != "application/fhir+json" {
		t.Errorf("write sent Content-Type %q", reqs[1].ContentType)
	}
	// Without a correlation in ctx, one is generated and reported.
	info, err := e.client.Ping(context.Background(), alexsim.DefaultFacility)
	if err != nil || len(info.Correlation) != 36 {
		t.Fatalf("generated correlation %q, %v", info.Correlation, err)
	}
	if got := e.srv.Requests()[2].Correlation; got != info.Correlation {
		t.Fatalf("sent %q, reported %q", got, info.Correlation)
	}
}

func TestFacilityOffline(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	e.srv.SetFaults(alexsim.Faults{Offline: []string{alexsim.DefaultFacility}})
	ctx := alex.WithCorrelation(context.Background(), "corr-off")
	_, err := e.client.Ping(ctx, alexsim.DefaultFacility)
	var fo *alex.FacilityOfflineError
	if !errors.As(err, &fo) {
		t.Fatalf("err = %v, want FacilityOfflineError", err)
	}
	if !strings.HasPrefix(err.Error(), alex.FacilityOfflineMessage) || alex.Correlation(err) != "corr-off" ||
		!strings.Contains(err.Error(), "corr-off") {
		t.Fatalf("err text %q", err)
	}
	if !alex.Retryable(err) {
		t.Fatal("offline must be retryable")
	}
	_, _, err = e.client.CreateScanDocument(ctx, alexsim.DefaultFacility, alex.ScanDocument{
		Identifier: "k", PatientID: patientID(t, e), ContentType: alex.ContentTypeTIFF, Data: tiff(64)})
	if !errors.As(err, &fo) || alex.Ambiguous(err) {
		t.Fatalf("offline write: err = %v, ambiguous = %v; a 503 never reached the practice", err, alex.Ambiguous(err))
	}
	// Other facilities are unaffected.
	if _, err := e.client.Ping(ctx, alexsim.LocalFacility); err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.Documents()); n != 0 {
		t.Fatalf("%d documents stored while offline", n)
	}
}

func TestRateLimited(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	e.srv.SetFaults(alexsim.Faults{RateLimit: 1, RetryAfterSeconds: 7})
	_, err := e.client.Ping(context.Background(), alexsim.DefaultFacility)
	var rl *alex.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second || !alex.Retryable(err) {
		t.Fatalf("err = %v, want RateLimited after 7s, retryable", err)
	}
	if _, err := e.client.Ping(context.Background(), alexsim.DefaultFacility); err != nil {
		t.Fatalf("the fault was for one call: %v", err)
	}
}

func TestServerErrorOnWriteIsAmbiguous(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	e.srv.SetFaults(alexsim.Faults{ServerErrors: 2})
	_, err := e.client.Ping(context.Background(), alexsim.DefaultFacility)
	if !alex.Retryable(err) || alex.Ambiguous(err) {
		t.Fatalf("read 500: retryable=%v ambiguous=%v, want true,false", alex.Retryable(err), alex.Ambiguous(err))
	}
	_, _, err = e.client.CreateScanDocument(context.Background(), alexsim.DefaultFacility, alex.ScanDocument{
		Identifier: "k", PatientID: patientID(t, e), ContentType: alex.ContentTypeTIFF, Data: tiff(64)})
	if !alex.Retryable(err) || !alex.Ambiguous(err) {
		t.Fatalf("write 500 (%v): retryable=%v ambiguous=%v, want both", err, alex.Retryable(err), alex.Ambiguous(err))
	}
}

func TestDroppedWriteIsAmbiguousAndFindable(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	e.srv.SetFaults(alexsim.Faults{DropWrites: 1})
	ctx := context.Background()
	doc := alex.ScanDocument{Identifier: "item-42", PatientID: patientID(t, e), ContentType: alex.ContentTypePDF,
		Data: []byte("%PDF-1.7\n%test\n")}
	_, _, err := e.client.CreateScanDocument(ctx, alexsim.DefaultFacility, doc)
	if err == nil || !alex.Ambiguous(err) || !alex.Retryable(err) {
		t.Fatalf("err = %v, ambiguous = %v, want an ambiguous, retryable failure", err, alex.Ambiguous(err))
	}
	var te *alex.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want TransportError", err)
	}
	// The patient's other documents are in the same search answer; only ours matches.
	other := doc
	other.Identifier = "item-43"
	if _, _, err := e.client.CreateScanDocument(ctx, alexsim.DefaultFacility, other); err != nil {
		t.Fatal(err)
	}
	found, _, err := e.client.FindDocuments(ctx, alexsim.DefaultFacility, "item-42", testNHI)
	if err != nil || len(found) != 1 || found[0].Identifiers[0] != "item-42" {
		t.Fatalf("after the drop: found %+v, %v; want the stored document only", found, err)
	}
	// A refused-before-sending failure is not ambiguous.
	_, _, err = e.client.CreateScanDocument(ctx, alexsim.DefaultFacility, alex.ScanDocument{
		Identifier: "k", PatientID: "p", ContentType: "image/jpeg", Data: []byte("\xff\xd8\xff")})
	if alex.Ambiguous(err) || alex.Retryable(err) {
		t.Fatalf("refused JPEG: ambiguous=%v retryable=%v", alex.Ambiguous(err), alex.Retryable(err))
	}
}

func TestTimeout(t *testing.T) {
	e := startSim(t, alexsim.Options{}, func(c *alex.Config) { c.Timeout = 50 * time.Millisecond })
	e.srv.SetFaults(alexsim.Faults{LatencyMS: 2000})
	_, err := e.client.Ping(context.Background(), alexsim.DefaultFacility)
	if !errors.Is(err, alex.ErrTimeout) || !alex.Retryable(err) {
		t.Fatalf("err = %v, want ErrTimeout, retryable", err)
	}
}

func TestScanDocumentsRefusedBeforeCalling(t *testing.T) {
	e := startSim(t, alexsim.Options{}, func(c *alex.Config) { c.MaxBytes = 1000 })
	pid := patientID(t, e)
	cases := []struct {
		name string
		doc  alex.ScanDocument
		want error
	}{
		{"jpeg", alex.ScanDocument{Identifier: "k", PatientID: pid, ContentType: "image/jpeg", Data: []byte("\xff\xd8\xff\xe0")}, alex.ErrContentType},
		{"png labelled tiff", alex.ScanDocument{Identifier: "k", PatientID: pid, ContentType: alex.ContentTypeTIFF, Data: []byte("\x89PNG\r\n\x1a\n")}, alex.ErrContentType},
		{"tiff labelled pdf", alex.ScanDocument{Identifier: "k", PatientID: pid, ContentType: alex.ContentTypePDF, Data: tiff(10)}, alex.ErrContentType},
		{"too large", alex.ScanDocument{Identifier: "k", PatientID: pid, ContentType: alex.ContentTypeTIFF, Data: tiff(1001)}, alex.ErrTooLarge},
		{"no identifier", alex.ScanDocument{PatientID: pid, ContentType: alex.ContentTypeTIFF, Data: tiff(10)}, alex.ErrInvalidDocument},
		{"no patient", alex.ScanDocument{Identifier: "k", ContentType: alex.ContentTypeTIFF, Data: tiff(10)}, alex.ErrInvalidDocument},
		{"empty", alex.ScanDocument{Identifier: "k", PatientID: pid, ContentType: alex.ContentTypeTIFF}, alex.ErrInvalidDocument},
	}
	for _, tc := range cases {
		_, _, err := e.client.CreateScanDocument(context.Background(), alexsim.DefaultFacility, tc.doc)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Fatalf("%d requests reached ALEX for refused documents", n)
	}
}

func TestScanDocumentStreamsFromAFile(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	data := tiff(3 << 20)
	f, err := os.CreateTemp(t.TempDir(), "scan-*.tiff")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	// A 401 on the first attempt forces the body to be replayed from the file.
	e.srv.SetFaults(alexsim.Faults{Unauthorized: 1})
	cr, info, err := e.client.CreateScanDocument(context.Background(), alexsim.DefaultFacility, alex.ScanDocument{
		Identifier: "big", PatientID: patientID(t, e), ContentType: alex.ContentTypeTIFF, Content: f, Size: int64(len(data)),
		Title: "big.tiff"})
	if err != nil || info.Attempts != 2 {
		t.Fatalf("create: %v (attempts %d)", err, info.Attempts)
	}
	got, ct, ok := e.srv.Content(cr.ID)
	if !ok || ct != alex.ContentTypeTIFF || string(got) != string(data) {
		t.Fatalf("stored %d bytes of %s, want the %d sent", len(got), ct, len(data))
	}
}

func TestErrorsCarryNoPatientIdentifiers(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	ctx := context.Background()
	pid := patientID(t, e)
	// The sandbox's TCP port is closed after this: a transport error's text would
	// normally include the URL, and with it the patient id.
	_ = e.srv.Close()
	_, _, err := e.client.ReadPatient(ctx, alexsim.DefaultFacility, pid)
	if err == nil {
		t.Fatal("want an error from a closed server")
	}
	if strings.Contains(err.Error(), pid) || strings.Contains(err.Error(), "Patient/") {
		t.Fatalf("error text leaks the patient id: %q", err)
	}
	_, _, err = e.client.FindPatientByNHI(ctx, alexsim.DefaultFacility, testNHI)
	if strings.Contains(err.Error(), string(testNHI)) {
		t.Fatalf("error text leaks the NHI: %q", err)
	}
}

func TestLaunch(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	ctx := context.Background()
	lc, sig, err := e.srv.MintLaunch(alexsim.DefaultFacility, string(testNHI), "")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := e.client.ResolveLaunch(ctx, alexsim.DefaultFacility, lc, sig)
	if err != nil {
		t.Fatalf("ResolveLaunch: %v", err)
	}
	if got.PatientID != patientID(t, e) || got.FacilityCode != alexsim.DefaultFacility ||
		got.ProviderID != alexsim.ProviderID(alexsim.DefaultFacility) || !got.CreatedTime.Equal(e.clock.Now()) {
		t.Fatalf("launch = %+v", got)
	}

	lc2, sig2, _ := e.srv.MintLaunch(alexsim.LocalFacility, "", "prov-1")
	got, _, err = e.client.ResolveLaunch(ctx, alexsim.DefaultFacility, lc2, sig2)
	if err != nil || got.PatientID != "" || got.FacilityCode != alexsim.LocalFacility || got.ProviderID != "prov-1" {
		t.Fatalf("no-patient launch = %+v, %v", got, err)
	}

	// The launching provider may author an upload in that facility.
	if _, _, err := e.client.CreateScanDocument(ctx, alexsim.LocalFacility, alex.ScanDocument{Identifier: "by-prov-1",
		PatientID: e.srv.PatientID(alexsim.LocalFacility, string(testNHI)), ProviderID: "prov-1",
		ContentType: alex.ContentTypeTIFF, Data: tiff(32)}); err != nil {
		t.Fatalf("upload authored by the launching provider: %v", err)
	}

	tampered := []byte(sig)
	tampered[3] ^= 1
	_, _, err = e.client.ResolveLaunch(ctx, alexsim.DefaultFacility, lc, string(tampered))
	var oo *alex.OperationOutcomeError
	if !errors.As(err, &oo) || oo.Status != 400 {
		t.Fatalf("tampered: err = %v, want a 400 OperationOutcome", err)
	}

	e.clock.Add(10 * time.Minute)
	_, _, err = e.client.ResolveLaunch(ctx, alexsim.DefaultFacility, lc, sig)
	if !errors.As(err, &oo) || !strings.Contains(oo.Diagnostics(), "expired") {
		t.Fatalf("expired: err = %v", err)
	}
}

func TestDocumentSearchShapes(t *testing.T) {
	ctx := context.Background()
	store := func(e *simEnv) {
		t.Helper()
		if _, _, err := e.client.CreateScanDocument(ctx, alexsim.DefaultFacility, alex.ScanDocument{Identifier: "k-1",
			PatientID: patientID(t, e), ContentType: alex.ContentTypeTIFF, Data: tiff(64)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("none asks a person without a call", func(t *testing.T) {
		e := startSim(t, alexsim.Options{}, func(c *alex.Config) { c.DocumentSearch = alex.SearchNone })
		_, _, err := e.client.FindDocuments(ctx, alexsim.DefaultFacility, "k-1", testNHI)
		if !errors.Is(err, alex.ErrNoSearch) || len(e.srv.Requests()) != 0 {
			t.Fatalf("err = %v, want ErrNoSearch without a call", err)
		}
	})
	t.Run("the chained shape needs an NHI", func(t *testing.T) {
		e := startSim(t, alexsim.Options{}, nil)
		_, _, err := e.client.FindDocuments(ctx, alexsim.DefaultFacility, "k-1", "")
		if !errors.Is(err, alex.ErrNoSearch) || len(e.srv.Requests()) != 0 {
			t.Fatalf("err = %v, want ErrNoSearch without a call", err)
		}
	})
	t.Run("an unfiltered search is refused like real ALEX", func(t *testing.T) {
		e := startSim(t, alexsim.Options{}, func(c *alex.Config) { c.DocumentSearch = alex.SearchByIdentifier })
		store(e)
		_, _, err := e.client.FindDocuments(ctx, alexsim.DefaultFacility, "k-1", testNHI)
		if !errors.Is(err, alex.ErrAuthorizationFailed) || alex.Retryable(err) {
			t.Fatalf("err = %v, want a 403 Authorization failed that is not retried", err)
		}
	})
	t.Run("a permissive sandbox answers it", func(t *testing.T) {
		e := startSim(t, alexsim.Options{PermissiveSearch: true}, func(c *alex.Config) { c.DocumentSearch = alex.SearchByIdentifier })
		store(e)
		found, _, err := e.client.FindDocuments(ctx, alexsim.DefaultFacility, "k-1", "")
		if err != nil || len(found) != 1 {
			t.Fatalf("found %+v, %v", found, err)
		}
	})
	if _, err := alex.ParseSearchShape("patient"); err == nil {
		t.Fatal("an unknown shape was accepted")
	}
}

func TestDuplicatePatientRecordsAreNotGuessed(t *testing.T) {
	e := startSim(t, alexsim.Options{Patients: []alexsim.TestPatient{
		{NHI: "ZZZ0016", Family: "TESTING", Given: "One", BirthDate: "1970-01-01"},
		{NHI: "ZZZ0016", Family: "TESTING", Given: "Two", BirthDate: "1970-01-01"},
	}}, nil)
	_, _, err := e.client.FindPatientByNHI(context.Background(), alexsim.DefaultFacility, testNHI)
	if !errors.Is(err, alex.ErrMultiplePatients) {
		t.Fatalf("err = %v, want ErrMultiplePatients", err)
	}
}

func TestUnknownAuthorIsRejectedBySandbox(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	_, _, err := e.client.CreateScanDocument(context.Background(), alexsim.DefaultFacility, alex.ScanDocument{
		Identifier: "k", PatientID: patientID(t, e), ProviderID: "nobody", ContentType: alex.ContentTypeTIFF, Data: tiff(32)})
	var oo *alex.OperationOutcomeError
	if !errors.As(err, &oo) || oo.Status != 400 || alex.Retryable(err) || alex.Ambiguous(err) {
		t.Fatalf("err = %v, want a permanent 400", err)
	}
}

func TestMediaRoundTrip(t *testing.T) {
	e := startSim(t, alexsim.Options{}, nil)
	ctx := context.Background()
	cr, _, err := e.client.CreateMedia(ctx, alexsim.DefaultFacility, alex.Media{Identifier: "m-1", PatientID: patientID(t, e),
		ProviderID: alexsim.ProviderID(alexsim.DefaultFacility), Title: "rash.jpg", ContentType: "image/jpeg", Data: []byte("\xff\xd8\xff")})
	if err != nil || cr.ID == "" {
		t.Fatalf("CreateMedia = %+v, %v", cr, err)
	}
	ms, _, err := e.client.SearchMediaByNHI(ctx, alexsim.DefaultFacility, testNHI)
	if err != nil || len(ms) != 1 || ms[0].ID != cr.ID || ms[0].Identifiers[0] != "m-1" || ms[0].Title != "rash.jpg" {
		t.Fatalf("SearchMediaByNHI = %+v, %v", ms, err)
	}
	if !r4DateTime.MatchString(ms[0].Created) {
		t.Fatalf("createdDateTime %q is not an R4 dateTime", ms[0].Created)
	}
}

// r4DateTime is R4's dateTime regex (datatypes.html#dateTime).
var r4DateTime = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)
