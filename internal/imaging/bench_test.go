package imaging

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Benchmarks use the photographs made by `make bench-imaging` when
// IMAGING_BENCH_DIR points at them (out/bench-imaging/in), and otherwise a
// generated noisy 12 MP photo and A4 scan.
var benchInputs = sync.OnceValues(func() (map[string][]byte, error) {
	in := map[string][]byte{}
	if dir := os.Getenv("IMAGING_BENCH_DIR"); dir != "" {
		for _, n := range []string{"phone12.jpg", "phone12r.jpg", "camera24.jpg", "camera48.jpg", "square9.jpg", "letter.jpg", "scanA4.png"} {
			if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
				in[n] = b
			}
		}
		return in, nil
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, noisy(4032, 3024), &jpeg.Options{Quality: 92}); err != nil {
		return nil, err
	}
	in["phone12.jpg"] = buf.Bytes()
	var t testing.T
	in["scanA4.png"] = scan(&t, 2480, 3508)
	return in, nil
})

func benchInput(b *testing.B, name string) []byte {
	in, err := benchInputs()
	if err != nil {
		b.Fatal(err)
	}
	d, ok := in[name]
	if !ok {
		b.Skipf("%s not available", name)
	}
	return d
}

func benchConvert(b *testing.B, name string, opt Options) {
	in := benchInput(b, name)
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	var r Result
	c0 := cpuTime()
	n := 0
	for b.Loop() {
		var err error
		if r, err = Convert(context.Background(), in, opt); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// CPU per conversion: on the shared machine wall time also measures
	// everyone else's load.
	b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(max(1, n)), "cpu-ms/op")
	b.ReportMetric(float64(len(r.Data)), "out-bytes")
	b.ReportMetric(float64(r.Quality), "quality")
}

func BenchmarkConvertPhone12MPTIFF(b *testing.B) { benchConvert(b, "phone12.jpg", Options{}) }
func BenchmarkConvertPhone12MPPDF(b *testing.B) {
	benchConvert(b, "phone12.jpg", Options{Format: FormatPDF})
}
func BenchmarkConvertCamera24MP(b *testing.B)       { benchConvert(b, "camera24.jpg", Options{}) }
func BenchmarkConvertPhone12MPRotated(b *testing.B) { benchConvert(b, "phone12r.jpg", Options{}) }
func BenchmarkConvertCamera48MP(b *testing.B)       { benchConvert(b, "camera48.jpg", Options{}) }
func BenchmarkConvertSquare9MP(b *testing.B)        { benchConvert(b, "square9.jpg", Options{}) }
func BenchmarkConvertLetterPhoto(b *testing.B)      { benchConvert(b, "letter.jpg", Options{}) }
func BenchmarkConvertScanA4(b *testing.B)           { benchConvert(b, "scanA4.png", Options{}) }

// The stages, to see where the time goes.
func BenchmarkDecode12MP(b *testing.B) {
	in := benchInput(b, "phone12.jpg")
	for b.Loop() {
		if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBoxShrinkHalf12MP(b *testing.B) {
	m, err := jpeg.Decode(bytes.NewReader(benchInput(b, "phone12.jpg")))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		boxShrink(m, 2)
	}
}

func BenchmarkSincHalf12MP(b *testing.B) {
	m, err := jpeg.Decode(bytes.NewReader(benchInput(b, "phone12.jpg")))
	if err != nil {
		b.Fatal(err)
	}
	w, h := m.Bounds().Dx()/2, m.Bounds().Dy()/2
	b.ResetTimer()
	for b.Loop() {
		sincResize(m, w, h)
	}
}

func BenchmarkEncodeJPEG2016(b *testing.B) {
	m, err := jpeg.Decode(bytes.NewReader(benchInput(b, "phone12.jpg")))
	if err != nil {
		b.Fatal(err)
	}
	small := boxShrink(m, 2).(*image.YCbCr)
	b.Run("own-dct+q85", func(b *testing.B) {
		for b.Loop() {
			newJPEGSource(small).encode(85)
		}
	})
	src := newJPEGSource(small)
	b.Run("own-requantise-q85", func(b *testing.B) {
		for b.Loop() {
			src.encode(85)
		}
	})
	b.Run("stdlib-q85", func(b *testing.B) {
		for b.Loop() {
			jpeg.Encode(&bytes.Buffer{}, small, &jpeg.Options{Quality: 85})
		}
	})
}
