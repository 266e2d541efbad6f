package daemon

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/config"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// TestServeWithAdminMetrics starts the composed relay on loopback ports against
// alexsim, makes one call, and checks the admin listener reports it.
func TestServeWithAdminMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := config.Config{Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", DataDir: dir, LogLevel: "info",
		AuditKeyFile: filepath.Join(dir, "audit.key"),
		ALEX: config.ALEX{BaseURL: sim.BaseURL, TokenURL: sim.TokenURL, ClientID: alexsim.DefaultClientID,
			ClientSecret: alexsim.DefaultClientSecret}}
	onStore(t, &cfg)
	st, err := OpenStores(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := st.Registry.Add(ctx, alexsim.DefaultFacility, "t")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	// A stale spool file from a crash is cleaned at start.
	os.MkdirAll(filepath.Join(dir, "spool"), 0o700)
	os.WriteFile(filepath.Join(dir, "spool", "upload-stale"), []byte("x"), 0o600)

	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, cfg, NewLogger(io.Discard, 0), func(p, a net.Addr) { addrs <- [2]net.Addr{p, a} })
	}()
	var a [2]net.Addr
	select {
	case a = <-addrs:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(time.Minute):
		t.Fatal("serve did not start")
	}
	if _, err := os.Stat(filepath.Join(dir, "spool", "upload-stale")); !os.IsNotExist(err) {
		t.Error("stale spool file left behind")
	}
	url := "http://" + a[0].String()
	creds, err := client.Enrol(ctx, url, code)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.New(url, creds)
	if _, err := c.LookupPatient(ctx, "ZZZ0016"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + a[1].String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`clinicpro_relay_requests_total{op="lookup",status="200"} 1`, "clinicpro_relay_alex_seconds", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(string(body), "ZZZ0016") || strings.Contains(string(body), creds.ClientID) {
		t.Error("metrics carry a patient or connector identifier")
	}
	// The public listener does not serve metrics.
	resp, err = http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("public /metrics: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Serve did not stop")
	}
}

func TestServeRefusesPublicPlainHTTPAndMissingALEX(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Config{Listen: "0.0.0.0:0", DataDir: dir, AuditKeyFile: filepath.Join(dir, "k")}
	if err := Serve(context.Background(), cfg, NewLogger(io.Discard, 0), nil); err == nil || !strings.Contains(err.Error(), "plain HTTP") {
		t.Fatalf("public plain HTTP: %v", err)
	}
	cfg.Listen = "127.0.0.1:0"
	if err := Serve(context.Background(), cfg, NewLogger(io.Discard, 0), nil); err == nil || !strings.Contains(err.Error(), "alex.base_url") {
		t.Fatalf("missing ALEX config: %v", err)
	}
}

// Issue 13 item 9: admin_listen = 0.0.0.0 served /metrics on the host's address. It is
// held to the public listener's rule now.
func TestAdminListenHeldToTheListenPolicy(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Config{Listen: "127.0.0.1:0", AdminListen: "0.0.0.0:0", DataDir: dir, AuditKeyFile: filepath.Join(dir, "k"),
		ALEX: config.ALEX{BaseURL: "http://127.0.0.1:1/FHIR", TokenURL: "http://127.0.0.1:1/t", ClientID: "c", ClientSecret: "s"}}
	onStore(t, &cfg)
	err := Serve(context.Background(), cfg, NewLogger(io.Discard, 0), nil)
	if err == nil || !strings.Contains(err.Error(), "admin_listen") || !strings.Contains(err.Error(), "allow_insecure_admin") {
		t.Fatalf("public plain-HTTP admin listener: %v", err)
	}
	// Explicitly allowed (a Prometheus on a private network), it serves.
	cfg.AllowInsecureAdmin = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan net.Addr, 1)
	go func() { done <- Serve(ctx, cfg, NewLogger(io.Discard, 0), func(_, a net.Addr) { ready <- a }) }()
	select {
	case a := <-ready:
		if !strings.HasPrefix(a.String(), "[::]:") && !strings.HasPrefix(a.String(), "0.0.0.0:") {
			t.Errorf("admin bound to %s", a)
		}
	case err := <-done:
		t.Fatal(err)
	case <-time.After(time.Minute):
		t.Fatal("serve did not start")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Serve prunes audit rows past audit_retention as it starts (and hourly after).
func TestServePrunesTheAudit(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Config{Listen: "127.0.0.1:0", DataDir: dir, AuditKeyFile: filepath.Join(dir, "k"),
		AuditRetention: config.Duration{Duration: 30 * 24 * time.Hour},
		ALEX:           config.ALEX{BaseURL: "http://127.0.0.1:1/FHIR", TokenURL: "http://127.0.0.1:1/t", ClientID: "c", ClientSecret: "s"}}
	onStore(t, &cfg)
	st, err := OpenStores(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, age := range []time.Duration{40 * 24 * time.Hour, 31 * 24 * time.Hour, 29 * 24 * time.Hour, time.Hour} {
		st.Audit.Add(ctx, audit.Record{At: time.Now().Add(-age), Operation: "upload", Outcome: "ok"})
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, NewLogger(io.Discard, 0), nil) }()
	testutil.WaitFor(t, "the audit to be pruned to 30 days", time.Minute, 20*time.Millisecond, func() bool {
		n, _ := st.Audit.Count(ctx)
		return n == 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st.Close()
}

// Issue 17: stopping (SIGTERM cancels serve's context) drains: an upload in flight
// to a slow ALEX finishes and is answered, while the listener takes nothing new.
func TestServeDrainsInFlightUploads(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := alexsim.Start(context.Background(), "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	dir := t.TempDir()
	cfg := config.Config{Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", DataDir: dir, LogLevel: "info",
		AuditKeyFile: filepath.Join(dir, "audit.key"),
		ALEX: config.ALEX{BaseURL: sim.BaseURL, TokenURL: sim.TokenURL, ClientID: alexsim.DefaultClientID,
			ClientSecret: alexsim.DefaultClientSecret}}
	onStore(t, &cfg)
	st, err := OpenStores(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, code, _ := st.Registry.Add(ctx, alexsim.DefaultFacility, "t")
	st.Close()
	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, cfg, NewLogger(io.Discard, 0), func(p, a net.Addr) { addrs <- [2]net.Addr{p, a} })
	}()
	a := <-addrs
	url := "http://" + a[0].String()
	creds, err := client.Enrol(context.Background(), url, code)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.New(url, creds)
	if _, err := c.Health(context.Background()); err != nil { // token in hand
		t.Fatal(err)
	}
	sim.SetFaults(alexsim.Faults{LatencyMS: 1500})
	body := append([]byte("%PDF-1.4\n"), make([]byte, 20000)...)
	uploaded := make(chan error, 1)
	go func() {
		_, err := c.UploadDocument(context.Background(), client.DocumentUpload{IdempotencyKey: "drain-test-0001", NHI: "ZZZ0016",
			Title: "Referral", ContentType: "application/pdf", Size: int64(len(body)), Body: bytes.NewReader(body)})
		uploaded <- err
	}()
	testutil.WaitFor(t, "the upload to be in flight", time.Minute, 20*time.Millisecond, func() bool {
		resp, err := http.Get("http://" + a[1].String() + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "clinicpro_relay_inflight_requests 1")
	})
	cancel() // what SIGTERM does
	if err := <-uploaded; err != nil {
		t.Fatalf("the upload in flight when the relay stopped: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if n := len(sim.Documents()); n != 1 {
		t.Fatalf("ALEX holds %d documents", n)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("the stopped relay still accepts connections")
	}
}
