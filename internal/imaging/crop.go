package imaging

import (
	"image"
	"image/draw"
	"math"
)

// Crop is the part of an image to keep: a rectangle in fractions (0 to 1) of the
// image standing upright (after its EXIF orientation, before Options.Rotate), so
// it does not depend on the size the image is decoded at. The zero Crop keeps the
// whole image.
type Crop struct{ X, Y, W, H float64 }

func (c Crop) whole() bool {
	return c == Crop{} || c.X <= 0 && c.Y <= 0 && c.X+c.W >= 1 && c.Y+c.H >= 1
}

// cropStored cuts c out of m, an image as stored (before its EXIF orientation
// exif), into a new image whose bounds start at (0, 0).
func cropStored(m image.Image, exif int, c Crop) image.Image {
	if c.whole() {
		return m
	}
	t := exifTransforms[1]
	if exif >= 1 && exif <= 8 {
		t = exifTransforms[exif]
	}
	// upright = t·stored + o in fractions, o moving negative axes back into [0, 1];
	// t is a signed permutation, so its inverse is its transpose.
	ox, oy := 0.0, 0.0
	if t[0] < 0 || t[1] < 0 {
		ox = 1
	}
	if t[2] < 0 || t[3] < 0 {
		oy = 1
	}
	back := func(ux, uy float64) (float64, float64) {
		ux, uy = ux-ox, uy-oy
		return float64(t[0])*ux + float64(t[2])*uy, float64(t[1])*ux + float64(t[3])*uy
	}
	ax, ay := back(c.X, c.Y)
	bx, by := back(c.X+c.W, c.Y+c.H)
	b := m.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	clamp := func(v float64, n int) int { return max(0, min(n, int(v))) }
	x0 := clamp(math.Floor(math.Min(ax, bx)*w), b.Dx())
	x1 := clamp(math.Ceil(math.Max(ax, bx)*w), b.Dx())
	y0 := clamp(math.Floor(math.Min(ay, by)*h), b.Dy())
	y1 := clamp(math.Ceil(math.Max(ay, by)*h), b.Dy())
	if x1 <= x0 {
		x1 = min(b.Dx(), x0+1)
		x0 = x1 - 1
	}
	if y1 <= y0 {
		y1 = min(b.Dy(), y0+1)
		y0 = y1 - 1
	}
	r := image.Rect(x0, y0, x1, y1).Add(b.Min)
	dst := image.Rect(0, 0, r.Dx(), r.Dy())
	if g, ok := m.(*image.Gray); ok {
		out := image.NewGray(dst)
		draw.Draw(out, dst, g, r.Min, draw.Src)
		return out
	}
	out := image.NewRGBA(dst)
	draw.Draw(out, dst, m, r.Min, draw.Src)
	return out
}
