package jpegdec

import (
	"bytes"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Benchmarks read $IMAGING_BENCH_DIR/phone12.jpg (made by make bench-imaging).
func benchFile(b *testing.B) []byte {
	dir := os.Getenv("IMAGING_BENCH_DIR")
	if dir == "" {
		b.Skip("IMAGING_BENCH_DIR not set")
	}
	d, err := os.ReadFile(filepath.Join(dir, "phone12.jpg"))
	if err != nil {
		b.Skip(err)
	}
	return d
}

func BenchmarkDecode12MP(b *testing.B) {
	in := benchFile(b)
	b.Run("stdlib", func(b *testing.B) {
		cpuPerOp(b, func() {
			if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
				b.Fatal(err)
			}
		})
	})
	for _, s := range []int{1, 2, 4, 8} {
		b.Run("scale1/"+string(rune('0'+s)), func(b *testing.B) {
			cpuPerOp(b, func() {
				if _, err := Decode(in, s); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// cpuPerOp reports user+system CPU per operation: on the shared build
// machine wall time measures the other engineers' load as much as the code.
func cpuPerOp(b *testing.B, f func()) {
	c0 := cpuTime()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	cpu := time.Duration(cpuTime()-c0) / time.Duration(max(1, n))
	b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/op")
}
