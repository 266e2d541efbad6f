package imaging

import (
	"context"
	"image"
	"testing"
)

// TestCropIsInUprightFractions: whatever orientation the camera stored, a crop of
// the upright image's top-left quadrant keeps the red quadrant only, and the GP's
// rotation turns what was kept. Every EXIF orientation is tried.
func TestCropIsInUprightFractions(t *testing.T) {
	up := photo(1200, 900)
	tl := Crop{X: 0, Y: 0, W: 0.5, H: 0.5}
	for o := 1; o <= 8; o++ {
		in := jpegWithExif(t, stored(up, o), o, false)
		r, err := Convert(context.Background(), in, Options{Crop: tl, Treat: KindPhoto})
		if err != nil {
			t.Fatalf("orientation %d: %v", o, err)
		}
		m := pagesOf(t, r)[0]
		b := m.Bounds()
		if b.Dx()*3 != b.Dy()*4 || b.Dx() < 500 || b.Dx() > 620 {
			t.Fatalf("orientation %d: %v, want the 600 x 450 quadrant", o, b)
		}
		for _, p := range []image.Point{{5, 5}, {b.Dx() - 5, 5}, {5, b.Dy() - 5}, {b.Dx() - 5, b.Dy() - 5}} {
			if !near(m.At(p.X, p.Y), cTL, 40) {
				t.Fatalf("orientation %d: %v is %v, want the red quadrant everywhere", o, p, m.At(p.X, p.Y))
			}
		}
	}
	// The bottom-right quadrant, then turned a quarter clockwise: portrait, yellow.
	in := jpegWithExif(t, stored(up, 6), 6, false)
	r, err := Convert(context.Background(), in, Options{Crop: Crop{X: 0.5, Y: 0.5, W: 0.5, H: 0.5}, Rotate: 1, Treat: KindPhoto})
	if err != nil {
		t.Fatal(err)
	}
	m := pagesOf(t, r)[0]
	if b := m.Bounds(); b.Dy()*3 != b.Dx()*4 || !near(m.At(b.Dx()/2, b.Dy()/2), cBR, 40) {
		t.Fatalf("rotated crop: %v, centre %v", b, m.At(b.Dx()/2, b.Dy()/2))
	}
}

// TestCropOfADocument: a scanned page is cropped too. The page is large enough that
// a JPEG is first decoded at a photo's reduced scale and again at a document's;
// the crop must survive that second decode.
func TestCropOfADocument(t *testing.T) {
	page := image.NewGray(image.Rect(0, 0, 3000, 4243))
	for i := range page.Pix {
		page.Pix[i] = 250
	}
	// Lines of "text": letter-sized boxes with strokes down and across, as
	// letters have (a row of dashes is what striped cloth looks like).
	ink := func(x0, y0, x1, y1 int) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				page.Pix[y*page.Stride+x] = 20
			}
		}
	}
	for y := 200; y+50 < 4000; y += 90 {
		for x := 200; x+36 < 2800; x += 48 {
			if (x/48)%7 == 0 {
				continue // a space between words
			}
			ink(x, y, x+36, y+8)
			ink(x, y+42, x+36, y+50)
			ink(x, y, x+8, y+50)
			ink(x+28, y, x+36, y+50)
		}
	}
	in := jpegWithExif(t, page, 1, false)
	r, err := Convert(context.Background(), in, Options{Crop: Crop{X: 0, Y: 0, W: 1, H: 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindDocument {
		t.Fatalf("kind %v, want a document", r.Kind)
	}
	m := pagesOf(t, r)[0]
	if b := m.Bounds(); b.Dx() < b.Dy() {
		t.Fatalf("top half of an A4 page is %v, want landscape", b)
	}
}

func TestCropWholeLeavesTheImage(t *testing.T) {
	m := photo(40, 30)
	for _, c := range []Crop{{}, {W: 1, H: 1}, {X: -0.1, Y: -0.1, W: 1.5, H: 1.5}} {
		if got := cropStored(m, 6, c); got != image.Image(m) {
			t.Fatalf("%+v cropped the image", c)
		}
	}
	if got := cropStored(m, 1, Crop{X: 0.999, Y: 0.999, W: 0.0001, H: 0.0001}); got.Bounds().Dx() != 1 || got.Bounds().Dy() != 1 {
		t.Fatalf("a sliver crop = %v, want one pixel", got.Bounds())
	}
}
