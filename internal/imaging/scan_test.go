package imaging

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/clinicpro/medtech-images/internal/imaging/hostile"
)

// scanImage is a clean w x h page of black text on white, like a flatbed
// scan (strokes about 3 px wide at 300 dpi, with scanner noise).
func scanImage(w, h int) *image.Gray { return hostile.ScanPage(w, h) }

func scan(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, scanImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// phoneLetter is a phone photo of a printed letter: warm light that falls
// off towards the corners, held sideways (EXIF orientation 6).
func phoneLetter(t testing.TB) []byte {
	t.Helper()
	g := scanImage(1500, 2100)
	m := image.NewRGBA(image.Rect(0, 0, 1500, 2100))
	for y := 0; y < 2100; y++ {
		for x := 0; x < 1500; x++ {
			dx, dy := float64(x-750)/750, float64(y-1050)/1050
			light := 1 - 0.28*(dx*dx+dy*dy)/2
			v := float64(g.Pix[y*g.Stride+x]) * light
			m.Pix[m.PixOffset(x, y)+0] = uint8(min(255, v+6))
			m.Pix[m.PixOffset(x, y)+1] = uint8(v)
			m.Pix[m.PixOffset(x, y)+2] = uint8(max(0, v-8))
			m.Pix[m.PixOffset(x, y)+3] = 255
		}
	}
	// Stored sideways: the photo's top is on the right of the stored pixels.
	s := image.NewRGBA(image.Rect(0, 0, 2100, 1500))
	for y := 0; y < 1500; y++ {
		for x := 0; x < 2100; x++ {
			copy(s.Pix[s.PixOffset(x, y):s.PixOffset(x, y)+4], m.Pix[m.PixOffset(1499-y, x):m.PixOffset(1499-y, x)+4])
		}
	}
	return jpegWithExif(t, s, 6, true)
}

func TestPhoneLetterBecomesCleanUprightDocument(t *testing.T) {
	r := convert(t, phoneLetter(t), Options{Budget: 400_000})
	if r.Kind != KindDocument || r.Width != 1500 || r.Height != 2100 {
		t.Fatalf("got %v %dx%d, want an upright 1500x2100 document", r.Kind, r.Width, r.Height)
	}
	g, ok := pagesOf(t, r)[0].(*image.Gray)
	if !ok {
		t.Fatal("want a gray or bilevel page")
	}
	// The darkened corners are still paper, and the text is still there:
	// the first text line starts 3*(60-10) px down, 150 px in.
	for _, p := range []image.Point{{5, 5}, {1494, 5}, {5, 2094}, {1494, 2094}} {
		if v := g.GrayAt(p.X, p.Y).Y; v < 100 {
			t.Errorf("corner %v is dark (%d): uneven lighting was thresholded as ink", p, v)
		}
	}
	ink := 0
	for y := 140; y < 190; y++ {
		for x := 150; x < 1200; x++ {
			if g.GrayAt(x, y).Y < 100 {
				ink++
			}
		}
	}
	if ink < 1000 {
		t.Errorf("only %d ink pixels in the first text line: text lost or the page is not upright", ink)
	}
	// Upright text has blank rows between its lines; sideways text has none.
	blank := 0
	for y := 100; y < 400; y++ {
		dark := 0
		for x := 150; x < 1200; x++ {
			if g.GrayAt(x, y).Y < 100 {
				dark++
			}
		}
		if dark == 0 {
			blank++
		}
	}
	if blank < 20 {
		t.Errorf("only %d blank rows between text lines: the page is not upright", blank)
	}
}
