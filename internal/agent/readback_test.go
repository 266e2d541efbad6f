package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/config"
	"github.com/clinicpro/medtech-images/internal/relay/daemon"
	"github.com/clinicpro/medtech-images/internal/upload"
)

// realRelay starts alexsim and the composed relay (daemon.Serve, as the binary runs
// it) in this process on loopback and returns the relay's URL and an enrolment code
// for the default facility.
func realRelay(t *testing.T) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	dir := t.TempDir()
	cfg := config.Config{Listen: "127.0.0.1:0", DataDir: dir, LogLevel: "info", AuditKeyFile: filepath.Join(dir, "audit.key"),
		ALEX: config.ALEX{BaseURL: sim.BaseURL, TokenURL: sim.TokenURL, ClientID: alexsim.DefaultClientID,
			ClientSecret: alexsim.DefaultClientSecret, Timeout: config.Duration{Duration: 30 * time.Second}}}
	st, err := daemon.OpenStores(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, code, err := st.Registry.Add(ctx, alexsim.DefaultFacility, "Test practice")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- daemon.Serve(ctx, cfg, slog.New(slog.DiscardHandler), func(public, _ net.Addr) { addrs <- public })
	}()
	select {
	case a := <-addrs:
		t.Cleanup(func() { cancel(); <-done })
		return "http://" + a.String(), code
	case err := <-done:
		t.Fatalf("relay did not start: %v", err)
		return "", ""
	}
}

// An agent that restarts between an upload and its read-back confirms the document
// from the relay's digest alone: the read-back of a fresh adapter neither fails
// (which the uploader would count towards its outage breaker) nor mismatches.
func TestReadBackAfterRestartNeedsNoMemory(t *testing.T) {
	url, code := realRelay(t)
	ctx := context.Background()
	creds, err := client.Enrol(ctx, url, code)
	if err != nil {
		t.Fatal(err)
	}
	connect := func() upload.Relay {
		c, err := client.New(url, client.Credentials{ClientID: creds.ClientID, Secret: creds.Secret, Facility: creds.Facility})
		if err != nil {
			t.Fatal(err)
		}
		return agent.NewEnrolment(c, url, creds.Facility).Relay
	}
	data := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	rec, err := connect().Upload(ctx, upload.Document{
		IdempotencyKey: "restart-between-upload-and-readback", Correlation: "corr-restart",
		Facility: alexsim.DefaultFacility, Patient: queue.Patient{NHI: "ZZZ0016"},
		Title: "letter", FileName: "letter.pdf", ContentType: "application/pdf", Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := connect().ReadBack(ctx, rec.DocumentID, "corr-restart")
	if err != nil {
		t.Fatalf("read-back after a restart failed, which trips the breaker: %v", err)
	}
	sum := sha256.Sum256(data)
	if got.Data != nil || got.SHA256 != hex.EncodeToString(sum[:]) || got.ContentType != "application/pdf" {
		t.Fatalf("read-back: type %q, digest %q, %d bytes", got.ContentType, got.SHA256, len(got.Data))
	}
}
