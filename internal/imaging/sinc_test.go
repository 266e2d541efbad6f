package imaging

import (
	"image"
	"math"
	"testing"
)

// A flat plane must stay exactly flat (the fixed-point weights sum to one),
// at integer and fractional factors and at sizes down to one pixel.
func TestSincResizeKeepsFlatExact(t *testing.T) {
	for _, sz := range [][4]int{{4032, 8, 2016, 4}, {6000, 9, 2000, 3}, {5, 3, 1, 1}, {4000, 7, 2560, 4}, {33, 17, 10, 5}} {
		g := image.NewGray(image.Rect(0, 0, sz[0], sz[1]))
		for i := range g.Pix {
			g.Pix[i] = 201
		}
		d := sincResize(g, sz[2], sz[3]).(*image.Gray)
		if d.Rect.Dx() != sz[2] || d.Rect.Dy() != sz[3] {
			t.Fatalf("%v: got %v", sz, d.Rect)
		}
		for i, v := range d.Pix {
			if v != 201 {
				t.Fatalf("%v: pixel %d is %d, want 201", sz, i, v)
			}
		}
	}
}

// The whole source frame maps onto the whole output, also when the size is
// not a multiple of the factor (4000 rows into 1333): a linear ramp must come
// out sampled at each output pixel's centre, not shifted towards the start.
func TestSincResizeGeometry(t *testing.T) {
	const sw, dw = 4000, 1333
	g := image.NewGray(image.Rect(0, 0, sw, 1))
	for x := range sw {
		g.Pix[x] = uint8(20 + x*200/sw)
	}
	d := sincResize(g, dw, 1).(*image.Gray)
	scale := float64(sw) / dw
	for x := 10; x < dw-10; x++ {
		c := (float64(x)+0.5)*scale - 0.5
		want := 20 + c*200/sw
		if math.Abs(float64(d.Pix[x])-want) > 1.01 {
			t.Fatalf("x=%d: %d, want %.1f", x, d.Pix[x], want)
		}
	}
}

// Detail below the output's Nyquist limit keeps its contrast: a sine of
// period 8 source pixels shrunk by 2 (period 4 output pixels, whose centres
// fall at 45 degrees of phase, so the samples peak at 100*sin(45) = 70.7).
// The box average loses about 8% of that.
func TestSincResizeKeepsDetail(t *testing.T) {
	const w, h = 512, 16
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			m.Y[y*m.YStride+x] = uint8(math.Round(128 + 100*math.Sin(2*math.Pi*(float64(x)+0.5)/8)))
		}
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = 128, 128
	}
	amp := func(img image.Image) float64 {
		p := img.(*image.YCbCr)
		lo, hi := 255, 0
		for x := 16; x < p.Rect.Dx()-16; x++ {
			v := int(p.Y[8/2*p.YStride+x])
			lo, hi = min(lo, v), max(hi, v)
		}
		return float64(hi-lo) / 2
	}
	s, b := amp(sincResize(m, w/2, h/2)), amp(boxShrink(m, 2))
	want := 100 * math.Sin(math.Pi/4)
	t.Logf("amplitude: lanczos %.1f, box %.1f (ideal %.1f)", s, b, want)
	if s < 0.97*want || s <= b {
		t.Errorf("lanczos amplitude %.1f, box %.1f, ideal %.1f", s, b, want)
	}
}
