package alex_test

// The contract suite: every test here runs against alexsim, and the ones in
// TestContract also against real ALEX UAT when ALEX_* is set. Writes to UAT need
// ALEX_ALLOW_WRITES=1 as well, because they land in a real (test) practice's inbox.

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/fhir"
	"github.com/clinicpro/medtech-images/internal/nhi"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

const testNHI = nhi.NHI("ZZZ0016")

// target is one ALEX to run the contract against.
type target struct {
	name     string
	cfg      alex.Config
	facility string
	writes   bool
	sim      *alexsim.Server // nil for real ALEX
	skip     string
}

func newClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
}

// tokenCounter counts token requests going through a real transport.
type tokenCounter struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (tc *tokenCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, alexsim.TokenPath) {
		tc.n.Add(1)
	}
	return tc.next.RoundTrip(r)
}

// simEnv starts alexsim and a client for it.
type simEnv struct {
	srv    *alexsim.Server
	client *alex.Client
	cfg    alex.Config
	clock  *testutil.Clock
	tokens *tokenCounter
}

func startSim(t *testing.T, opts alexsim.Options, tweak func(*alex.Config)) *simEnv {
	t.Helper()
	ck := newClock()
	if opts.Now == nil {
		opts.Now = ck.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := alexsim.Start(ctx, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tokenCounter{next: http.DefaultTransport}
	cfg := simConfig(srv)
	cfg.HTTPClient = &http.Client{Transport: tc}
	cfg.Now = ck.Now
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := alex.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &simEnv{srv: srv, client: c, cfg: cfg, clock: ck, tokens: tc}
}

func simConfig(srv *alexsim.Server) alex.Config {
	return alex.Config{BaseURL: srv.BaseURL, TokenURL: srv.TokenURL, ClientID: alexsim.DefaultClientID,
		ClientSecret: alexsim.DefaultClientSecret, Scope: "api://alexsim/.default", AppID: "clinicpro-test",
		Timeout: 30 * time.Second}
}

// targets returns alexsim always, plus UAT when configured.
func targets(t *testing.T) []target {
	env := startSim(t, alexsim.Options{}, nil)
	ts := []target{{name: "alexsim", cfg: env.cfg, facility: alexsim.DefaultFacility, writes: true, sim: env.srv}}
	keys := []string{"ALEX_BASE_URL", "ALEX_TOKEN_URL", "ALEX_CLIENT_ID", "ALEX_CLIENT_SECRET", "ALEX_SCOPE", "ALEX_FACILITY"}
	for _, k := range keys {
		if os.Getenv(k) == "" {
			msg := "real ALEX UAT contract run skipped: set " + strings.Join(keys, ", ") + " to run it"
			return append(ts, target{name: "uat", skip: msg})
		}
	}
	return append(ts, target{name: "uat", facility: os.Getenv("ALEX_FACILITY"), writes: os.Getenv("ALEX_ALLOW_WRITES") == "1",
		cfg: alex.Config{BaseURL: os.Getenv("ALEX_BASE_URL"), TokenURL: os.Getenv("ALEX_TOKEN_URL"),
			ClientID: os.Getenv("ALEX_CLIENT_ID"), ClientSecret: os.Getenv("ALEX_CLIENT_SECRET"),
			Scope: os.Getenv("ALEX_SCOPE"), Timeout: 60 * time.Second}})
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

// tiff is a minimal little-endian TIFF header followed by filler; ALEX (and alexsim)
// judge by the magic bytes.
func tiff(n int) []byte {
	b := bytes.Repeat([]byte{0x5a}, n)
	copy(b, "II*\x00\x08\x00\x00\x00")
	return b
}

func TestContract(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			if tg.skip != "" {
				t.Skip(tg.skip)
			}
			c, err := alex.New(tg.cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()

			t.Run("ping reaches the facility", func(t *testing.T) {
				if _, err := c.Ping(ctx, tg.facility); err != nil {
					t.Fatalf("Ping: %v", err)
				}
			})

			var patientID string
			t.Run("patient by NHI then by id", func(t *testing.T) {
				p, info, err := c.FindPatientByNHI(ctx, tg.facility, testNHI)
				if err != nil {
					t.Fatalf("FindPatientByNHI: %v", err)
				}
				if p.NHI != testNHI || p.Family != "TESTING" || !hex32.MatchString(p.ID) {
					t.Fatalf("patient = %+v, want the TESTING test patient with a 32-hex id", p)
				}
				if info.Status != 200 || info.Correlation == "" {
					t.Fatalf("info = %+v, want 200 and a correlation id", info)
				}
				patientID = p.ID
				q, _, err := c.ReadPatient(ctx, tg.facility, p.ID)
				if err != nil || q.NHI != testNHI || q.ID != p.ID {
					t.Fatalf("ReadPatient = %+v, %v", q, err)
				}
			})

			t.Run("unknown NHI is not found, not an error of ALEX", func(t *testing.T) {
				_, _, err := c.FindPatientByNHI(ctx, tg.facility, "ZAA0075")
				if !errors.Is(err, alex.ErrPatientNotFound) {
					t.Fatalf("err = %v, want ErrPatientNotFound", err)
				}
				if strings.Contains(err.Error(), "ZAA0075") {
					t.Fatal("error text carries the NHI")
				}
			})

			t.Run("media search by chained NHI is allowed", func(t *testing.T) {
				if _, _, err := c.SearchMediaByNHI(ctx, tg.facility, testNHI); err != nil {
					t.Fatalf("SearchMediaByNHI: %v", err)
				}
			})

			t.Run("refused search shapes give 403 Authorization failed", func(t *testing.T) {
				for _, p := range []string{"Patient", "Media?patient=" + patientID, "Media?subject=Patient/" + patientID,
					"DocumentReference", "DocumentReference?identifier=cp-test-unfiltered"} {
					_, _, err := c.Get(ctx, tg.facility, p)
					var oo *alex.OperationOutcomeError
					if !errors.As(err, &oo) || oo.Status != 403 || !errors.Is(err, alex.ErrAuthorizationFailed) {
						t.Errorf("GET %s: err = %v, want 403 Authorization failed", resourceOnly(p), err)
					}
					if alex.Retryable(err) {
						t.Errorf("GET %s: a 403 must not be retryable", resourceOnly(p))
					}
				}
			})

			t.Run("Encounter is not exposed", func(t *testing.T) {
				_, _, err := c.Get(ctx, tg.facility, "Encounter")
				var ne *alex.NotExposedError
				if !errors.As(err, &ne) || ne.Status != 404 {
					t.Fatalf("err = %v, want NotExposedError", err)
				}
			})

			t.Run("unmapped facility", func(t *testing.T) {
				_, err := c.Ping(ctx, alexsim.UnmappedFacility)
				if !errors.Is(err, alex.ErrFacilityNotFound) {
					t.Fatalf("err = %v, want ErrFacilityNotFound", err)
				}
			})

			t.Run("media without identifier is ALEX's 400 business-rule", func(t *testing.T) {
				_, _, err := c.CreateMedia(ctx, tg.facility, alex.Media{PatientID: patientID, Title: "x.jpg",
					ContentType: "image/jpeg", Data: []byte("\xff\xd8\xff\xe0 jpeg")})
				var oo *alex.OperationOutcomeError
				if !errors.As(err, &oo) || oo.Status != 400 || oo.Code() != "business-rule" ||
					oo.Diagnostics() != alexsim.MissingIdentifier {
					t.Fatalf("err = %v, want 400 business-rule %q", err, alexsim.MissingIdentifier)
				}
			})

			if !tg.writes {
				t.Log("scan write-back skipped: set ALEX_ALLOW_WRITES=1 to write to the UAT test patient")
				return
			}
			t.Run("scan document round trip", func(t *testing.T) {
				key := "cp-test-" + alex.NewCorrelationID()
				data := tiff(4096)
				cr, _, err := c.CreateScanDocument(ctx, tg.facility, alex.ScanDocument{Identifier: key, PatientID: patientID,
					Title: "knee.tiff", Description: "Wound review", ContentType: alex.ContentTypeTIFF, Data: data,
					Laterality: fhir.Coding{System: "http://snomed.info/sct", Code: "7771000", Display: "Left"}, BodySite: fhir.Coding{Display: "knee"}})
				if err != nil {
					t.Fatalf("CreateScanDocument: %v", err)
				}
				if cr.ID == "" || !strings.Contains(cr.Location, "/fhir/DocumentReference/"+cr.ID) || cr.ETag == "" {
					t.Fatalf("created = %+v, want id, lowercase /fhir Location and ETag", cr)
				}
				d, _, err := c.ReadDocumentReference(ctx, tg.facility, cr.ID)
				if err != nil {
					t.Fatalf("ReadDocumentReference: %v", err)
				}
				if d.PatientID != patientID || d.ContentType != alex.ContentTypeTIFF || d.Status != "current" ||
					len(d.Identifiers) == 0 || d.Identifiers[0] != key || d.Description != "Wound review (Left knee)" {
					t.Fatalf("read back %+v", d)
				}
				if tg.sim == nil {
					return
				}
				if !bytes.Equal(d.Data, data) {
					t.Fatal("read-back bytes differ from what was sent")
				}
				found, _, err := c.FindDocuments(ctx, tg.facility, key, testNHI)
				if err != nil || len(found) != 1 || found[0].ID != cr.ID {
					t.Fatalf("FindDocuments = %+v, %v", found, err)
				}
			})
		})
	}
}

func resourceOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i] + "?…"
	}
	return p
}
