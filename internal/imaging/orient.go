package imaging

import (
	"image"
	"image/draw"
)

// A transform is one of the eight rotations/flips as a 2x2 integer matrix
// acting on (x, y) with y pointing down. EXIF orientations and the GP's extra
// quarter turns compose into one matrix so the pixels move only once.
type transform [4]int // a b / c d: x' = a*x + b*y, y' = c*x + d*y

var exifTransforms = [9]transform{
	1: {1, 0, 0, 1},   // as stored
	2: {-1, 0, 0, 1},  // mirrored left-right
	3: {-1, 0, 0, -1}, // upside down
	4: {1, 0, 0, -1},  // mirrored top-bottom
	5: {0, 1, 1, 0},   // transpose
	6: {0, -1, 1, 0},  // needs 90 degrees clockwise
	7: {0, -1, -1, 0}, // transverse
	8: {0, 1, -1, 0},  // needs 90 degrees anticlockwise
}

func (t transform) then(u transform) transform { // u applied after t
	return transform{
		u[0]*t[0] + u[1]*t[2], u[0]*t[1] + u[1]*t[3],
		u[2]*t[0] + u[3]*t[2], u[2]*t[1] + u[3]*t[3],
	}
}

func (t transform) identity() bool  { return t == transform{1, 0, 0, 1} }
func (t transform) swapsAxes() bool { return t[0] == 0 }

// uprightTransform combines the stored EXIF orientation with the GP's extra
// clockwise quarter turns (negative turns go anticlockwise).
func uprightTransform(exif, quarterTurns int) transform {
	t := exifTransforms[1]
	if exif >= 1 && exif <= 8 {
		t = exifTransforms[exif]
	}
	for range ((quarterTurns % 4) + 4) % 4 {
		t = t.then(exifTransforms[6])
	}
	return t
}

// applyTransform returns m moved by t, as *image.Gray for gray input and
// *image.RGBA otherwise. It runs after downscaling, on a few megapixels
// rather than the camera's twelve.
func applyTransform(m image.Image, t transform) image.Image {
	if t.identity() {
		return m
	}
	var src []byte
	var stride, bpp int
	b := m.Bounds()
	sw, sh := b.Dx(), b.Dy()
	switch s := m.(type) {
	case *image.Gray:
		src, stride, bpp = s.Pix, s.Stride, 1
	case *image.RGBA:
		src, stride, bpp = s.Pix, s.Stride, 4
	default:
		r := image.NewRGBA(image.Rect(0, 0, sw, sh))
		draw.Draw(r, r.Rect, m, b.Min, draw.Src)
		src, stride, bpp = r.Pix, r.Stride, 4
	}
	dw, dh := sw, sh
	if t.swapsAxes() {
		dw, dh = sh, sw
	}
	var dst []byte
	var dstride int
	var out image.Image
	if bpp == 1 {
		g := image.NewGray(image.Rect(0, 0, dw, dh))
		dst, dstride, out = g.Pix, g.Stride, g
	} else {
		r := image.NewRGBA(image.Rect(0, 0, dw, dh))
		dst, dstride, out = r.Pix, r.Stride, r
	}
	// Offsets bring negative coordinates back into [0, size).
	ox, oy := 0, 0
	if t[0] < 0 || t[1] < 0 {
		ox = dw - 1
	}
	if t[2] < 0 || t[3] < 0 {
		oy = dh - 1
	}
	parallelRows(sh, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := src[y*stride : y*stride+sw*bpp]
			for x := 0; x < sw; x++ {
				dx := t[0]*x + t[1]*y + ox
				dy := t[2]*x + t[3]*y + oy
				copy(dst[dy*dstride+dx*bpp:dy*dstride+dx*bpp+bpp], row[x*bpp:x*bpp+bpp])
			}
		}
	})
	return out
}
