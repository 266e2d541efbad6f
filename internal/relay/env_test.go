package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// testStore is the store every test in this package runs on: TestMain runs the whole
// suite once on SQLite and once on PostgreSQL.
var testStore = store.SQLite

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if testutil.PostgresAvailable() || os.Getenv("CI") != "" {
			fmt.Println("=== the relay's tests again, on PostgreSQL")
			testStore = store.Postgres
			code = m.Run()
		} else {
			fmt.Println("PostgreSQL is not installed: the relay's tests ran on SQLite only")
		}
	}
	testutil.StopPostgres()
	os.Exit(code)
}

// openStore opens a fresh store of testStore's kind, closed when t ends.
func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	cfg := store.Config{Kind: store.SQLite, Path: filepath.Join(dir, "relay.db")}
	if testStore == store.Postgres {
		cfg = store.Config{Kind: store.Postgres, DSN: testutil.Postgres(t)}
	}
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// env is a real relay on a loopback port, with its SQLite file in a temp dir, calling
// alexsim through the real ALEX client.
type env struct {
	t     *testing.T
	sim   *alexsim.Server
	url   string
	reg   *registry.Registry
	led   *ledger.Ledger
	aud   *audit.Log
	srv   *Server
	logs  *testutil.Buffer
	alexc *alex.Client
	prom  *prometheus.Registry
	st    *store.Store
	cfg   Config
}

func start(t *testing.T, cfg Config, tweaks ...func(*alex.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	dir := t.TempDir()
	st := openStore(t, dir)
	reg, led := registry.New(st), ledger.New(st)
	aud, err := audit.New(st, []byte("0123456789abcdef-test-key"))
	if err != nil {
		t.Fatal(err)
	}
	acfg := alex.Config{BaseURL: sim.BaseURL, TokenURL: sim.TokenURL, ClientID: alexsim.DefaultClientID,
		ClientSecret: alexsim.DefaultClientSecret, Timeout: 30 * time.Second}
	for _, tw := range tweaks {
		tw(&acfg)
	}
	ac, err := alex.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	cfg.Logger = slog.New(redact.NewHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	cfg.SpoolDir = filepath.Join(dir, "spool")
	if cfg.Phone == nil {
		cfg.Phone = st
	}
	prom := prometheus.NewRegistry()
	cfg.Metrics = prom
	srv, err := New(cfg, reg, led, aud, ac)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = hs.Serve(srv.Listener(ln)) }()
	t.Cleanup(func() { hs.Close() })
	e := &env{t: t, sim: sim, url: "http://" + ln.Addr().String(), reg: reg, led: led, aud: aud, srv: srv, logs: logs, alexc: ac, prom: prom, st: st, cfg: cfg}
	// Every test's full log output must be free of patient data.
	t.Cleanup(func() { e.assertNoPatientData(logs.String()) })
	return e
}

// assertNoPatientData greps text for every seeded patient's NHI, names, birth date
// and ALEX ids.
func (e *env) assertNoPatientData(text string) {
	e.t.Helper()
	if text == "" {
		e.t.Error("no log output captured: the leak check would prove nothing")
		return
	}
	for _, p := range alexsim.TestPatients {
		leaks := []string{p.NHI, strings.ToLower(p.NHI), p.Family, p.BirthDate,
			e.sim.PatientID(alexsim.DefaultFacility, p.NHI), e.sim.PatientID(alexsim.LocalFacility, p.NHI)}
		if p.Given != "Test" { // "Test" is an ordinary word
			leaks = append(leaks, p.Given)
		}
		for _, l := range leaks {
			if l != "" && strings.Contains(text, l) {
				e.t.Errorf("relay log contains patient data (a seeded patient's %s)", describe(p, l))
			}
		}
	}
}

// describe names which field leaked without printing it into the test output.
func describe(p alexsim.TestPatient, l string) string {
	switch l {
	case p.NHI, strings.ToLower(p.NHI):
		return "NHI"
	case p.Family:
		return "family name"
	case p.Given:
		return "given name"
	case p.BirthDate:
		return "birth date"
	}
	return "patient id"
}

// connector adds and enrols a connector for facility and returns a client for it.
func (e *env) connector(facility string) (*client.Client, client.Credentials) {
	e.t.Helper()
	_, code, err := e.reg.Add(context.Background(), facility, "test practice")
	if err != nil {
		e.t.Fatal(err)
	}
	creds, err := client.Enrol(context.Background(), e.url, code)
	if err != nil {
		e.t.Fatal(err)
	}
	if creds.Facility != facility || creds.ClientID == "" || creds.Secret == "" {
		e.t.Fatalf("enrolment returned %+v", creds)
	}
	c, err := client.New(e.url, creds)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, creds
}

// secondRelay starts another relay on e's store (its own handle, as another process
// would have) and the same alexsim, as a second relay behind a load balancer.
func (e *env) secondRelay() *env {
	t := e.t
	t.Helper()
	st, err := store.Open(context.Background(), e.st.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	aud, _ := audit.New(st, []byte("0123456789abcdef-test-key"))
	cfg := e.cfg
	cfg.Metrics = prometheus.NewRegistry()
	cfg.SpoolDir = filepath.Join(t.TempDir(), "spool")
	cfg.Phone = st
	reg, led := registry.New(st), ledger.New(st)
	srv, err := New(cfg, reg, led, aud, e.alexc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = hs.Serve(srv.Listener(ln)) }()
	t.Cleanup(func() { hs.Close() })
	two := *e
	two.url, two.reg, two.led, two.aud, two.srv, two.st = "http://"+ln.Addr().String(), reg, led, aud, srv, st
	return &two
}

// metric sums the samples of a counter or gauge whose labels include all of want.
func (e *env) metric(name string, want map[string]string) float64 {
	e.t.Helper()
	mfs, err := e.prom.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// from returns an HTTP client whose connections leave from src, a loopback address
// such as 127.0.0.2, so tests can stand in for several source addresses.
func from(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}, Timeout: time.Minute}
}

// documents returns what ALEX stored.
func (e *env) documents() []alexsim.Document { return e.sim.Documents() }

func tiff(n int) []byte {
	b := bytes.Repeat([]byte{0xA5}, n)
	copy(b, "II*\x00\x08\x00\x00\x00")
	return b
}

func pdf(n int) []byte {
	b := bytes.Repeat([]byte(" "), n)
	copy(b, "%PDF-1.7\n")
	return b
}

func doc(key string, body []byte) client.DocumentUpload {
	ct := alex.Sniff(body)
	if ct == "" {
		ct = "image/jpeg"
	}
	return client.DocumentUpload{IdempotencyKey: key, NHI: "ZZZ0016", Title: "Left knee", Laterality: "left", BodySite: "knee",
		ContentType: ct, Size: int64(len(body)), Body: bytes.NewReader(body), ClinicalDate: time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)}
}

func wantKind(t *testing.T, err error, k client.Kind, code string) *client.Error {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *client.Error", err)
	}
	if ce.Kind != k || (code != "" && ce.Code != code) {
		t.Fatalf("got %s %q (%v), want %s %q", ce.Kind, ce.Code, err, k, code)
	}
	if ce.Message == "" || ce.Correlation == "" {
		t.Fatalf("error lacks a message or correlation id: %+v", ce)
	}
	return ce
}

func mustPrefixes(ps ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

// auditWhere returns the n most recent audit rows once cond holds for them. The
// relay writes a request's row after its answer has gone (the client never
// waits on the audit), so the last request's row may still be on its way when
// a test looks; after 10 s the rows are returned as they are, for the test to
// fail on.
func (e *env) auditWhere(n int, cond func([]audit.Record) bool) []audit.Record {
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := e.aud.Recent(context.Background(), n)
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(recs) || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(20 * time.Millisecond)
	}
}
