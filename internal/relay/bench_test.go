package relay

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
)

// drainALEX reads each document the way the ALEX client does (from the spool file)
// and discards it, so a benchmark sees only the relay's own cost.
type drainALEX struct{ fakeALEX }

func (d *drainALEX) CreateScanDocument(_ context.Context, _ string, doc alex.ScanDocument) (alex.Created, alex.CallInfo, error) {
	_, err := io.Copy(io.Discard, io.NewSectionReader(doc.Content, 0, doc.Size))
	return alex.Created{ID: doc.Identifier}, alex.CallInfo{}, err
}

// BenchmarkUpload900KB is one connector uploading 900 KB TIFFs to a real relay on
// loopback (SQLite ledger and audit, spool file, token check) whose ALEX only drains
// the bytes: the relay's own time per upload.
func BenchmarkUpload900KB(b *testing.B) {
	dir := b.TempDir()
	st := openStore(b, dir)
	reg, led := registry.New(st), ledger.New(st)
	aud, _ := audit.New(st, []byte("0123456789abcdef"))
	srv, err := New(Config{SpoolDir: filepath.Join(dir, "spool"), Rate: 1e9, Burst: 1 << 30}, reg, led, aud, &drainALEX{})
	if err != nil {
		b.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: time.Minute}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String()
	_, code, _ := reg.Add(context.Background(), "F2N060-E", "bench")
	creds, err := client.Enrol(context.Background(), url, code)
	if err != nil {
		b.Fatal(err)
	}
	c, _ := client.New(url, creds)
	body := tiff(900_000)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		u := doc("bench-"+time.Now().Format("150405.000000000"), body)
		if _, err := c.UploadDocument(context.Background(), u); err != nil {
			b.Fatal(err)
		}
	}
}
