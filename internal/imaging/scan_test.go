package imaging

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// scanImage draws a clean w x h page of black text on white, like a flatbed
// scan: the text is set in a 7x13 bitmap font at a third of the size and
// enlarged, which gives strokes about 3 px wide at 300 dpi.
func scanImage(w, h int) *image.Gray {
	small := image.NewGray(image.Rect(0, 0, w/3, h/3))
	draw.Draw(small, small.Rect, image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: small, Src: image.Black, Face: basicfont.Face7x13}
	line := "Dear Dr TESTING, thank you for seeing this patient with a rash."
	for y := 60; y < small.Rect.Dy()-60; y += 18 {
		d.Dot = fixed.P(50, y)
		d.DrawString(line)
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.Pix[y*g.Stride+x] = small.Pix[min(y/3, small.Rect.Dy()-1)*small.Stride+min(x/3, small.Rect.Dx()-1)]
		}
	}
	// Scanner noise: paper is never exactly 255, which is what makes a gray
	// page expensive and a bilevel one cheap.
	s := uint32(7)
	for i, v := range g.Pix {
		s = s*1664525 + 1013904223
		n := uint8(s >> 29) // 0..7
		if v > 127 {
			g.Pix[i] = v - n
		} else {
			g.Pix[i] = v + n
		}
	}
	return g
}

func scan(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, scanImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
