package ui

import (
	"image"
	"image/color"
	"testing"
)

func TestRotateQuarterTurnsClockwise(t *testing.T) {
	// A 3x2 image with a marked top-left pixel.
	src := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	mark := color.NRGBA{255, 0, 0, 255}
	src.SetNRGBA(0, 0, mark)
	for _, tc := range []struct {
		deg        int
		w, h, x, y int // expected size and where the mark lands
	}{
		{0, 3, 2, 0, 0},
		{90, 2, 3, 1, 0}, // top-left goes to top-right
		{180, 3, 2, 2, 1},
		{270, 2, 3, 0, 2},
		{360 + 90, 2, 3, 1, 0},
		{-90, 2, 3, 0, 2},
	} {
		got := rotate(src, tc.deg)
		b := got.Bounds()
		if b.Dx() != tc.w || b.Dy() != tc.h {
			t.Fatalf("%d°: size %v", tc.deg, b)
		}
		if c := color.NRGBAModel.Convert(got.At(b.Min.X+tc.x, b.Min.Y+tc.y)); c != mark {
			t.Fatalf("%d°: mark not at (%d,%d)", tc.deg, tc.x, tc.y)
		}
	}
}

func TestAcceptedFiles(t *testing.T) {
	for name, want := range map[string]bool{"a.JPG": true, "b.jpeg": true, "scan.PDF": true, "c.tiff": true, "d.webp": true,
		"e.png": true, "f.heic": false, "g.docx": false, "noext": false} {
		if accepted(name) != want {
			t.Errorf("accepted(%q) = %v", name, !want)
		}
	}
}
