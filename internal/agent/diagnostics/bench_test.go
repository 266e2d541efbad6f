package diagnostics

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkWriteBundle writes a bundle with 2,000 recent log lines, the ring size
// the agent is expected to keep.
func BenchmarkWriteBundle(b *testing.B) {
	lines := make([]string, 2000)
	for i := range lines {
		lines[i] = fmt.Sprintf(`time=2026-11-27T10:%02d:00Z level=INFO msg="uploaded item" item=%d nhi=ZZZ0016 bytes=812345 correlation=abc%d`, i%60, i, i)
	}
	in := BundleInput{At: at, Report: report(), Config: map[string]any{"relay_url": "https://relay.example.test", "hcm": map[string]any{"host": true}}, LogLines: lines}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteBundle(io.Discard, in); err != nil {
			b.Fatal(err)
		}
	}
}
