package relay

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
)

// provingALEX answers a create with the stored resource, attachment included, as
// real ALEX's 201 may; it counts the read-backs that reach it.
type provingALEX struct {
	fakeALEX
	reads atomic.Int64
}

func (p *provingALEX) CreateScanDocument(_ context.Context, _ string, d alex.ScanDocument) (alex.Created, alex.CallInfo, error) {
	b, err := io.ReadAll(io.NewSectionReader(d.Content, 0, d.Size))
	return alex.Created{ID: "doc-" + d.Identifier, Stored: &alex.DocumentReference{ContentType: d.ContentType, Size: int64(len(b)), Data: b}}, alex.CallInfo{}, err
}

func (p *provingALEX) ReadDocumentReference(context.Context, string, string) (alex.DocumentReference, alex.CallInfo, error) {
	p.reads.Add(1)
	return alex.DocumentReference{}, alex.CallInfo{}, alex.ErrPatientNotFound
}

// Issue 20: a read-back costs no extra request where the write's answer already
// proved what was stored. Two photos and their read-backs fit a bucket of 2.
func TestReadBackOfAProvedWriteCostsNothing(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	reg := registry.New(st)
	aud, _ := audit.New(st, []byte("0123456789abcdef"))
	a := &provingALEX{}
	srv, err := New(Config{SpoolDir: filepath.Join(dir, "spool"), Rate: 0.001, Burst: 2}, reg, ledger.New(st), aud, a)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	_, code, _ := reg.Add(context.Background(), "F2N060-E", "t")
	creds, err := client.Enrol(context.Background(), hs.URL, code)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.New(hs.URL, creds)
	ctx := context.Background()
	for i, body := range [][]byte{tiff(3000), pdf(2000)} {
		key := []string{"item-proof-0001", "item-proof-0002"}[i]
		res, err := c.UploadDocument(ctx, doc(key, body))
		if err != nil {
			t.Fatalf("upload %d: %v", i+1, err)
		}
		d, err := c.ReadDocument(ctx, res.ID)
		if err != nil {
			t.Fatalf("read-back %d: %v", i+1, err)
		}
		if d.SHA256 != sha256Hex(body) || d.SHA256Source != ledger.ProofALEX || d.Size != int64(len(body)) || d.IdempotencyKey != key {
			t.Fatalf("read-back %d: %+v", i+1, d)
		}
	}
	if n := a.reads.Load(); n != 0 {
		t.Fatalf("%d read-backs reached ALEX", n)
	}
	// The bucket of 2 paid for the two uploads only: a third upload is over it.
	_, err = c.UploadDocument(ctx, doc("item-proof-0003", tiff(100)))
	if ce, ok := err.(*client.Error); !ok || ce.Code != api.CodeRateLimited {
		t.Fatalf("third upload: %v", err)
	}
}
