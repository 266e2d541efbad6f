package jpegdec

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func testFiles(t testing.TB) map[string][]byte {
	files, _ := filepath.Glob("testdata/*.jpg")
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	// Go's own encoder: baseline 4:2:0 and grey, at sizes that are and are
	// not whole MCUs.
	for _, sz := range [][2]int{{64, 48}, {97, 33}, {1, 1}, {17, 300}} {
		m := pattern(sz[0], sz[1])
		var b bytes.Buffer
		jpeg.Encode(&b, m, &jpeg.Options{Quality: 90})
		out["go-420-"+itoa(sz[0])+"x"+itoa(sz[1])] = b.Bytes()
		b.Reset()
		g := image.NewGray(m.Bounds())
		for i := range g.Pix {
			g.Pix[i] = m.Pix[4*i+1]
		}
		jpeg.Encode(&b, g, &jpeg.Options{Quality: 75})
		out["go-gray-"+itoa(sz[0])+"x"+itoa(sz[1])] = b.Bytes()
	}
	return out
}

func itoa(n int) string {
	return string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}

func pattern(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(3, 4))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetRGBA(x, y, color.RGBA{uint8(x * 255 / max(1, w)), uint8(rng.IntN(60) + 100), uint8(y * 255 / max(1, h)), 255})
		}
	}
	return m
}

// planesOf returns the Y (or grey), Cb and Cr planes of a decoded image as
// full-resolution float grids, upsampling chroma by replication.
func planesOf(m image.Image) [3][]float64 {
	b := m.Bounds()
	var p [3][]float64
	for i := range p {
		p[i] = make([]float64, b.Dx()*b.Dy())
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			i := (y-b.Min.Y)*b.Dx() + x - b.Min.X
			switch s := m.(type) {
			case *image.Gray:
				p[0][i] = float64(s.GrayAt(x, y).Y)
			case *image.YCbCr:
				c := s.YCbCrAt(x, y)
				p[0][i], p[1][i], p[2][i] = float64(c.Y), float64(c.Cb), float64(c.Cr)
			}
		}
	}
	return p
}

// At full size the decoder agrees with image/jpeg on every file: the same
// layout and size, pixels within the rounding of two different IDCTs.
func TestFullSizeMatchesStdlib(t *testing.T) {
	for name, b := range testFiles(t) {
		t.Run(name, func(t *testing.T) {
			want, err := jpeg.Decode(bytes.NewReader(b))
			if name == "restartprog.jpg" {
				// image/jpeg refuses this valid file; libjpeg's pixels are
				// the reference (its colour conversion rounds differently).
				if err == nil {
					t.Fatal("image/jpeg now reads restartprog.jpg: compare with it instead")
				}
				compareWithPNG(t, b, "testdata/restartprog.libjpeg.png", 38)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds() != want.Bounds() {
				t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
			}
			if wy, ok := want.(*image.YCbCr); ok {
				gy, ok := got.(*image.YCbCr)
				if !ok || gy.SubsampleRatio != wy.SubsampleRatio {
					t.Fatalf("got %T, want YCbCr %v", got, wy.SubsampleRatio)
				}
			}
			g, w := planesOf(got), planesOf(want)
			for c := range g {
				var sum, worst float64
				for i := range g[c] {
					d := math.Abs(g[c][i] - w[c][i])
					sum += d
					worst = max(worst, d)
				}
				if mean := sum / float64(max(1, len(g[c]))); mean > 0.5 || worst > 3 {
					t.Errorf("plane %d: mean difference %.2f, worst %.0f", c, mean, worst)
				}
			}
		})
	}
}

// Scaled, each output pixel is close to the mean of the block of pixels it
// replaces (the reduced IDCT low-passes instead of averaging, so edges
// differ a little), and the size is libjpeg's.
func TestScaledCloseToBlockMeans(t *testing.T) {
	for name, b := range testFiles(t) {
		full, err := Decode(b, 1) // matches image/jpeg (above), and reads every file here
		if err != nil {
			t.Fatal(err)
		}
		fp := planesOf(full)
		fw, fh := full.Bounds().Dx(), full.Bounds().Dy()
		for _, s := range []int{2, 4, 8} {
			got, err := Decode(b, s)
			if err != nil {
				t.Fatalf("%s 1/%d: %v", name, s, err)
			}
			w, h := ScaledSize(fw, fh, s)
			if got.Bounds() != image.Rect(0, 0, w, h) {
				t.Fatalf("%s 1/%d: bounds %v, want %dx%d", name, s, got.Bounds(), w, h)
			}
			gp := planesOf(got)
			var se float64
			n := 0
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					var sum float64
					k := 0
					for yy := y * s; yy < min(fh, y*s+s); yy++ {
						for xx := x * s; xx < min(fw, x*s+s); xx++ {
							sum += fp[0][yy*fw+xx]
							k++
						}
					}
					d := gp[0][y*w+x] - sum/float64(k)
					se += d * d
					n++
				}
			}
			// Edge blocks hold the encoder's padding, and 1/8 of a small
			// image is mostly edge; the bound is for the interior's sake.
			if psnr := 10 * math.Log10(255*255/(se/float64(n)+1e-9)); psnr < 24 {
				t.Errorf("%s 1/%d: luma PSNR %.1f dB against block means", name, s, psnr)
			}
		}
	}
}

// compareWithPNG decodes b and checks its RGB against a reference PNG.
func compareWithPNG(t *testing.T, b []byte, ref string, minPSNR float64) {
	f, err := os.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	var se float64
	n := 0
	for y := 0; y < got.Bounds().Dy(); y++ {
		for x := 0; x < got.Bounds().Dx(); x++ {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				se += d * d
				n++
			}
		}
	}
	if psnr := 10 * math.Log10(255*255/(se/float64(n)+1e-9)); psnr < minPSNR {
		t.Errorf("PSNR %.1f dB against %s, want at least %.0f", psnr, ref, minPSNR)
	}
}

// The reduced and full inverse DCTs match the formula, computed in float64.
func TestIDCTMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var q [64]float32
	for i := range q {
		q[i] = 1
	}
	for trial := 0; trial < 200; trial++ {
		var coef [64]int16
		for i := range coef {
			if rng.IntN(3) == 0 || i == 0 {
				coef[i] = int16(rng.IntN(400) - 200)
			}
		}
		for _, n := range []int{8, 4, 2} {
			out := make([]byte, 64)
			if n == 8 {
				var tbl [64]float32
				for i := range tbl {
					tbl[i] = float32(aanScale[i%8] * aanScale[i/8] / 8)
				}
				var ws [64]float32
				idct8(coef[:], &tbl, &ws, out, 8)
			} else {
				idctN(coef[:], true, n, &q, out, 8)
			}
			for y := 0; y < n; y++ {
				for x := 0; x < n; x++ {
					var s float64
					for v := 0; v < n; v++ {
						for u := 0; u < n; u++ {
							cu, cv := 1.0, 1.0
							if u == 0 {
								cu = 1 / math.Sqrt2
							}
							if v == 0 {
								cv = 1 / math.Sqrt2
							}
							s += cu * cv / 4 * float64(coef[v*8+u]) *
								math.Cos(float64(2*x+1)*float64(u)*math.Pi/float64(2*n)) *
								math.Cos(float64(2*y+1)*float64(v)*math.Pi/float64(2*n))
						}
					}
					want := math.Max(0, math.Min(255, math.Round(s+128)))
					if d := math.Abs(float64(out[y*8+x]) - want); d > 1 {
						t.Fatalf("N=%d (%d,%d): got %d, want %.0f", n, x, y, out[y*8+x], want)
					}
				}
			}
		}
	}
}

func TestHeaderAndErrors(t *testing.T) {
	b := testFiles(t)["prog420.jpg"]
	h, err := ReadHeader(b)
	if err != nil || h.Width != 203 || h.Height != 151 || !h.Progressive || h.Components != 3 || h.H[0] != 2 {
		t.Fatalf("header %+v, %v", h, err)
	}
	if _, err := Decode(b[:len(b)/2], 2); err == nil {
		t.Error("a file cut in half decoded without error")
	}
	if _, err := Decode(b, 3); err == nil {
		t.Error("scale 3 accepted")
	}
	cmyk, err := os.ReadFile("../testdata/cmyk.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(cmyk, 1); !errors.Is(err, ErrNotHandled) {
		t.Errorf("CMYK: %v, want ErrNotHandled", err)
	}
	seq := testFiles(t)["base444.jpg"]
	if _, err := Decode(seq[:len(seq)-2], 1); err != nil {
		t.Errorf("a sequential file missing only its EOI marker should decode: %v", err)
	}
}

// FuzzDecode: whatever the bytes, no panic, and a decoded image has the size
// its header claims at that scale.
func FuzzDecode(f *testing.F) {
	for _, b := range testFiles(f) {
		f.Add(b, uint8(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, s uint8) {
		scale := 1 << (s % 4)
		h, err := ReadHeader(b)
		if err != nil || h.Width*h.Height > 1<<22 {
			return
		}
		m, err := Decode(b, scale)
		if err != nil {
			return
		}
		w, hh := ScaledSize(h.Width, h.Height, scale)
		if m.Bounds() != image.Rect(0, 0, w, hh) {
			t.Fatalf("decoded %v, header says %dx%d at 1/%d", m.Bounds(), h.Width, h.Height, scale)
		}
	})
}

// A file whose restart segments are whole MCU rows (restartrows.jpg: 13
// MCUs a row, a restart every 13) is decoded one goroutine a segment, and
// gives exactly the pixels of the serial decoder, at every scale; cut short
// or with a segment's marker out of order, it is not decoded side by side
// and fails or reads as the serial decoder does.
func TestRestartSegmentsDecodeInParallel(t *testing.T) {
	b, err := os.ReadFile("testdata/restartrows.jpg")
	if err != nil {
		t.Fatal(err)
	}
	decode := func(b []byte, scale, procs int) (image.Image, int, error) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		d := &decoder{b: b, scale: scale}
		if err := d.readMarkers(false); err != nil {
			return nil, d.segments, err
		}
		if !d.sawEOI && !d.done() {
			return nil, d.segments, io.ErrUnexpectedEOF
		}
		m, err := d.image()
		return m, d.segments, err
	}
	for _, scale := range []int{1, 2, 4, 8} {
		serial, n, err := decode(b, scale, 1)
		if err != nil || n != 0 {
			t.Fatalf("scale %d serial: %v, %d segments side by side", scale, err, n)
		}
		par, n, err := decode(b, scale, 4)
		if err != nil {
			t.Fatalf("scale %d parallel: %v", scale, err)
		}
		if n != 10 {
			t.Fatalf("scale %d: %d segments decoded side by side, want the file's 10", scale, n)
		}
		s, p := serial.(*image.YCbCr), par.(*image.YCbCr)
		if !bytes.Equal(s.Y, p.Y) || !bytes.Equal(s.Cb, p.Cb) || !bytes.Equal(s.Cr, p.Cr) {
			t.Fatalf("scale %d: parallel pixels differ from serial ones", scale)
		}
	}
	// Truncated inside the fourth segment.
	rst := bytes.Index(b, []byte{0xFF, 0xD3})
	if _, _, err := decode(b[:rst-40], 1, 4); err == nil {
		t.Fatal("a file cut inside a segment decoded")
	}
	// RST2 swapped for RST5: the segments no longer count up.
	bad := bytes.Clone(b)
	i := bytes.Index(bad, []byte{0xFF, 0xD2})
	bad[i+1] = 0xD5
	_, n, errPar := decode(bad, 1, 4)
	_, _, errSer := decode(bad, 1, 1)
	if n != 0 {
		t.Fatalf("a file with restart markers out of order was split into %d segments", n)
	}
	if (errPar == nil) != (errSer == nil) {
		t.Fatalf("out-of-order markers: %v side by side, %v serially", errPar, errSer)
	}
}
