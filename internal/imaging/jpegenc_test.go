package imaging

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"

	"github.com/clinicpro/medtech-images/internal/imaging/jpegdec"
)

// psnr compares two images of the same size on R, G and B.
func psnr(a, b image.Image) float64 {
	var se float64
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				se += d * d
			}
		}
	}
	mse := se / float64(3*r.Dx()*r.Dy())
	return 10 * math.Log10(255*255/mse)
}

func TestOwnJPEGEncoderBeatsStdlibPerByte(t *testing.T) {
	src := noisy(333, 250) // odd sizes exercise edge replication
	for _, in := range []image.Image{src, toYCbCr420(src)} {
		for _, q := range []int{50, 75, 85, 95} {
			// Same (Annex K) tables as image/jpeg: this compares the coding.
			own := newJPEGSource(in).encodeWith(quantTablesFlat(q, 1))
			dec, err := jpeg.Decode(bytes.NewReader(own))
			if err != nil {
				t.Fatalf("q%d: image/jpeg cannot read our JPEG: %v", q, err)
			}
			if dec.Bounds() != src.Bounds() {
				t.Fatalf("q%d: decoded %v", q, dec.Bounds())
			}
			var std bytes.Buffer
			jpeg.Encode(&std, in, &jpeg.Options{Quality: q})
			sdec, _ := jpeg.Decode(bytes.NewReader(std.Bytes()))
			po, ps := psnr(src, dec), psnr(src, sdec)
			t.Logf("%T q%d: own %d B %.2f dB, stdlib %d B %.2f dB", in, q, len(own), po, std.Len(), ps)
			if len(own) >= std.Len() {
				t.Errorf("q%d: ours %d bytes, stdlib %d", q, len(own), std.Len())
			}
			if po < ps-0.6 {
				t.Errorf("q%d: ours %.2f dB, stdlib %.2f dB", q, po, ps)
			}
		}
	}
}

// The flattened tables must buy more PSNR per byte than Annex K on detailed
// content: at the first Annex K quality that spends at least as many bytes
// as the flattened table at q, PSNR must not be higher.
func TestFlattenedTablesBeatAnnexKPerByte(t *testing.T) {
	src := toYCbCr420(noisy(320, 240))
	s := newJPEGSource(src)
	dec := func(j []byte) image.Image {
		d, err := jpeg.Decode(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, q := range []int{60, 75, 85} {
		flat := s.encode(q)
		pf := psnr(src, dec(flat))
		k := q
		var annex []byte
		for ; k <= 100; k++ {
			if annex = s.encodeWith(quantTablesFlat(k, 1)); len(annex) >= len(flat) {
				break
			}
		}
		pa := psnr(src, dec(annex))
		t.Logf("q%d: flattened %d B %.2f dB; Annex K q%d %d B %.2f dB", q, len(flat), pf, k, len(annex), pa)
		if pa > pf {
			t.Errorf("q%d: Annex K q%d gives %.2f dB for %d bytes, flattened %.2f dB for %d", q, k, pa, len(annex), pf, len(flat))
		}
	}
	lo, hi := quantTables(85), quantTablesFlat(85, 1)
	if lo[0][0] != hi[0][0] {
		t.Errorf("luma DC step moved: %d vs Annex K %d", lo[0][0], hi[0][0])
	}
	for i := range 64 {
		if lo[0][i] > hi[0][i] || lo[1][i] > hi[1][i] {
			t.Errorf("step %d coarser than Annex K", i)
		}
	}
}

func toYCbCr420(m *image.RGBA) *image.YCbCr {
	y := image.NewYCbCr(m.Rect, image.YCbCrSubsampleRatio420)
	for py := 0; py < m.Rect.Dy(); py++ {
		for px := 0; px < m.Rect.Dx(); px++ {
			c := m.RGBAAt(px, py)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			y.Y[y.YOffset(px, py)] = yy
			y.Cb[y.COffset(px, py)] = cb
			y.Cr[y.COffset(px, py)] = cr
		}
	}
	return y
}

func TestOwnJPEGEncoderGrayAndFlat(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 17, 9))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 13)
	}
	for _, m := range []image.Image{g, image.NewRGBA(image.Rect(0, 0, 1, 1)), image.NewGray(image.Rect(0, 0, 64, 64))} {
		j := newJPEGSource(m).encode(85)
		d, err := jpeg.Decode(bytes.NewReader(j))
		if err != nil || d.Bounds().Size() != m.Bounds().Size() {
			t.Fatalf("%T %v: %v", m, m.Bounds(), err)
		}
		if _, isGray := m.(*image.Gray); isGray {
			if _, ok := d.(*image.Gray); !ok {
				t.Fatal("gray input should give a 1-component JPEG")
			}
			if p := psnr(m, d); p < 30 {
				t.Fatalf("gray PSNR %.1f", p)
			}
		}
	}
}

func TestHuffmanTableLimitsLengths(t *testing.T) {
	// Fibonacci-like frequencies force codes far longer than 16 bits before folding.
	var f [257]int
	a, b := 1, 1
	for i := 0; i < 40; i++ {
		f[i] = a
		a, b = b, a+b
	}
	bits, vals := huffmanTable(f)
	n, kraft := 0, 0.0
	for l := 1; l <= 16; l++ {
		n += bits[l]
		kraft += float64(bits[l]) / float64(int(1)<<l)
	}
	if n != 40 || len(vals) != 40 {
		t.Fatalf("%d codes for 40 symbols", n)
	}
	if kraft >= 1 { // < 1: the all-ones code stays unused
		t.Fatalf("Kraft sum %.4f: not a valid prefix code with the reserved code", kraft)
	}
}

// The textbook DCT, as a reference for the fast one.
var dctMatrix = func() (m [8][8]float64) {
	for u := 0; u < 8; u++ {
		c := 0.5
		if u == 0 {
			c = 0.5 / math.Sqrt2
		}
		for x := 0; x < 8; x++ {
			m[u][x] = c * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)
		}
	}
	return m
}()

func TestFastDCTMatchesDefinition(t *testing.T) {
	g := noisy(8, 8)
	p := plane{make([]byte, 64), 8, 8, 8}
	for i := range p.pix {
		p.pix[i] = g.Pix[4*i+1]
	}
	var got [64]float32
	fdct(p, 0, 0, got[:])
	for i, n := range zigzag {
		v, u := n/8, n%8
		var want float64
		for y := 0; y < 8; y++ {
			for x := 0; x < 8; x++ {
				want += dctMatrix[v][y] * dctMatrix[u][x] * (float64(p.pix[8*y+x]) - 128)
			}
		}
		if math.Abs(float64(got[i])-want) > 1e-3 {
			t.Fatalf("coefficient (%d,%d): got %f, want %f", u, v, got[i], want)
		}
	}
}

// The budget search must return a quality that fits, with the next one up
// not fitting, for budgets all over the range (the interpolation step must
// not skip the answer).
func TestSearchQualityFindsEdge(t *testing.T) {
	m := toYCbCr420(noisy(400, 300))
	src := newJPEGSource(m)
	lo, hi := 40, 85
	small, big := len(src.encode(lo)), len(src.encode(hi))
	for i := 1; i < 12; i++ {
		budget := small + (big-small)*i/12
		q, j, _, err := searchQuality(context.Background(), newJPEGSource(m), lo, hi, budget)
		if err != nil || j == nil {
			t.Fatalf("budget %d: q%d %v", budget, q, err)
		}
		plain := src.encode(q)
		if len(j) > budget || len(j) > len(plain) || !bytes.Equal(j, src.encodeTrellis(q)) && !bytes.Equal(j, plain) {
			t.Fatalf("budget %d: q%d gave %d bytes (dead zone %d)", budget, q, len(j), len(plain))
		}
		if q < hi && len(src.encode(q+1)) <= budget {
			t.Errorf("budget %d: returned q%d but q%d also fits", budget, q, q+1)
		}
	}
}

// Trellis quantisation: readable by image/jpeg, never a worse trade than the
// dead-zone encode at the same quality (more bytes only with more PSNR; it
// can keep a coefficient the dead zone drops), within 1 dB of it, and the
// same bytes on every run (the upload idempotency key depends on it). The
// budget search keeps it only when it is no larger (TestSearchQualityFindsEdge).
func TestTrellisSmallerAndStable(t *testing.T) {
	src := noisy(333, 250)
	gray := image.NewGray(src.Rect)
	for i := range gray.Pix {
		gray.Pix[i] = src.Pix[4*i+1]
	}
	for _, in := range []image.Image{toYCbCr420(src), gray, image.NewGray(image.Rect(0, 0, 64, 40)), photo(480, 360)} {
		s := newJPEGSource(in)
		for _, q := range []int{50, 75, 85, 95} {
			plain, tr := s.encode(q), s.encodeTrellis(q)
			d, err := jpeg.Decode(bytes.NewReader(tr))
			if err != nil {
				t.Fatalf("%T q%d: image/jpeg cannot read the trellis JPEG: %v", in, q, err)
			}
			if d.Bounds().Size() != in.Bounds().Size() {
				t.Fatalf("%T q%d: decoded %v", in, q, d.Bounds())
			}
			pd, _ := jpeg.Decode(bytes.NewReader(plain))
			pp, pt := psnr(in, pd), psnr(in, d)
			t.Logf("%T q%d: dead zone %d B %.2f dB, trellis %d B %.2f dB", in, q, len(plain), pp, len(tr), pt)
			if len(tr) > len(plain) && pt <= pp {
				t.Errorf("%T q%d: trellis %d bytes %.2f dB, dead zone %d bytes %.2f dB", in, q, len(tr), pt, len(plain), pp)
			}
			if pt < pp-1 {
				t.Errorf("%T q%d: trellis %.2f dB, dead zone %.2f dB", in, q, pt, pp)
			}
			if again := newJPEGSource(in).encodeTrellis(q); !bytes.Equal(again, tr) {
				t.Errorf("%T q%d: trellis output differs between runs", in, q)
			}
		}
	}
}

// The size prediction the budget search runs on is within a few percent of
// the real encode, for photos, grey pages and small images alike.
func TestEstimateCloseToEncode(t *testing.T) {
	scanPage := scanImage(930, 1316)
	for name, m := range map[string]image.Image{
		"noisy-420":  toYCbCr420(noisy(1200, 900)),
		"photo-rgba": photo(1200, 900),
		"scan-gray":  scanPage,
		"small":      toYCbCr420(noisy(120, 90)),
	} {
		s := newJPEGSource(m)
		for _, q := range []int{40, 75, 90, 95} {
			est, real := s.estimate(q), len(s.encode(q))
			if e := math.Abs(float64(est-real)) / float64(real); e > 0.04 {
				t.Errorf("%s q%d: estimated %d bytes, encoded %d (%.1f%% off)", name, q, est, real, 100*e)
			}
		}
	}
}

// From 1024 MCUs the scan is written as two restart segments of whole MCU
// rows (DRI, one RST0): image/jpeg and our decoder read it back alike, at
// least as close to the source as image/jpeg's own encoding at the same
// quality.
func TestRestartSegmentsReadBack(t *testing.T) {
	col := noisy(700, 520) // 4:2:0, 44x33 MCUs: 17 rows then 16
	g := image.NewGray(image.Rect(0, 0, 300, 270))
	for i := range g.Pix {
		g.Pix[i] = col.Pix[4*i+1]
	}
	for _, tc := range []struct {
		m  image.Image
		ri int
	}{
		{col, 17 * 44},
		{g, 17 * 38},
	} {
		j := newJPEGSource(tc.m).encode(90)
		i := bytes.Index(j, []byte{0xFF, 0xDD, 0, 4})
		if i < 0 || int(j[i+4])<<8|int(j[i+5]) != tc.ri {
			t.Fatalf("%T: no DRI of %d MCUs", tc.m, tc.ri)
		}
		if n := bytes.Count(j, []byte{0xFF, 0xD0}); n != 1 {
			t.Fatalf("%T: %d RST0 markers, want 1", tc.m, n)
		}
		std, err := jpeg.Decode(bytes.NewReader(j))
		if err != nil {
			t.Fatalf("%T: image/jpeg: %v", tc.m, err)
		}
		own, err := jpegdec.Decode(j, 1)
		if err != nil {
			t.Fatalf("%T: jpegdec: %v", tc.m, err)
		}
		var ref bytes.Buffer
		jpeg.Encode(&ref, tc.m, &jpeg.Options{Quality: 90})
		rd, _ := jpeg.Decode(&ref)
		ps, po, pr := psnr(tc.m, std), psnr(tc.m, own), psnr(tc.m, rd)
		t.Logf("%T: image/jpeg %.2f dB, jpegdec %.2f dB, image/jpeg's own encoding %.2f dB", tc.m, ps, po, pr)
		if ps < pr-1 || math.Abs(ps-po) > 0.3 {
			t.Fatalf("%T: image/jpeg reads %.2f dB, jpegdec %.2f dB; image/jpeg's own encoding %.2f dB", tc.m, ps, po, pr)
		}
	}
	// Below 1024 MCUs: one segment, no DRI.
	if j := newJPEGSource(noisy(300, 200)).encode(90); bytes.Contains(j, []byte{0xFF, 0xDD}) {
		t.Fatal("a small image got restart markers")
	}
}
