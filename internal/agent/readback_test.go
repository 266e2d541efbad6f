package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/relay"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/relay/sqlitedb"
	"github.com/clinicpro/medtech-images/internal/upload"
)

// realRelay starts alexsim and the relay in this process on loopback and returns
// the relay's URL and an enrolment code for the default facility.
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
	db, err := sqlitedb.Open(filepath.Join(dir, "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	led, err := ledger.New(db)
	if err != nil {
		t.Fatal(err)
	}
	aud, err := audit.New(db, []byte("0123456789abcdef-test-key"))
	if err != nil {
		t.Fatal(err)
	}
	ac, err := alex.New(alex.Config{BaseURL: sim.BaseURL, TokenURL: sim.TokenURL, ClientID: alexsim.DefaultClientID,
		ClientSecret: alexsim.DefaultClientSecret, IdentifierSearch: true, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := relay.New(relay.Config{SpoolDir: filepath.Join(dir, "spool"), Logger: slog.New(slog.DiscardHandler)}, reg, led, aud, ac)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	_, code, err := reg.Add(ctx, alexsim.DefaultFacility, "Test practice")
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + ln.Addr().String(), code
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
	connect := func() *agent.RelayUploads {
		c, err := client.New(url, client.Credentials{ClientID: creds.ClientID, Secret: creds.Secret, Facility: creds.Facility})
		if err != nil {
			t.Fatal(err)
		}
		return &agent.RelayUploads{C: c}
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
