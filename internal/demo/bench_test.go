//go:build !windows

package demo

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkEndToEnd measures, over the real binaries, the time from a phone photo's
// last byte written into the watched inbox to its DocumentReference stored in
// alexsim (alexsim's own storedAt clock; same machine). Photos go one at a time so
// each latency is the pipeline's, not the queue's; the product's default 1 s
// stability window is included. E2E_PHOTOS overrides the count (default 100).
//
//	make bench-e2e
func BenchmarkEndToEnd(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("E2E_PHOTOS")); err == nil && v > 0 {
		n = v
	}
	d := startDemo(b, nil)
	base, err := PhonePhoto(3024, 4032, 24, 92) // 12 MP, sideways with EXIF, as phones save
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for iter := range b.N {
		for i := range n {
			name := fmt.Sprintf("ZZZ0016 bench %d-%03d.jpg", iter, i)
			photo := withComment(base, name) // distinct bytes, same picture
			before := len(documents(b, d))
			if err := os.WriteFile(filepath.Join(d.Inbox, name), photo, 0o644); err != nil {
				b.Fatal(err)
			}
			written := time.Now()
			waitFor(b, "the photo in ALEX", func() bool { return len(documents(b, d)) > before })
			docs := documents(b, d)
			lat = append(lat, docs[len(docs)-1].StoredAt.Sub(written))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(pct(0.50).Seconds(), "p50-s")
	b.ReportMetric(pct(0.95).Seconds(), "p95-s")
	b.ReportMetric(lat[len(lat)-1].Seconds(), "max-s")
	b.ReportMetric(float64(len(base))/1e6, "MB/photo")
	b.Logf("%d photos: p50 %v, p95 %v, min %v, max %v", len(lat), pct(0.5).Round(time.Millisecond),
		pct(0.95).Round(time.Millisecond), lat[0].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
}

// withComment inserts a JPEG COM segment after SOI so each photo's bytes differ.
func withComment(jpg []byte, text string) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xFF, 0xFE)
	out = binary.BigEndian.AppendUint16(out, uint16(len(text)+2))
	out = append(out, text...)
	return append(out, jpg[2:]...)
}
