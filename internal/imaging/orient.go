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

// applyTransform returns m moved by t: YCbCr 4:2:0 and 4:4:4 as YCbCr,
// grey as *image.Gray, anything else as *image.RGBA. It runs after
// downscaling, on a few megapixels rather than the camera's twelve.
func applyTransform(m image.Image, t transform) image.Image {
	if t.identity() {
		return m
	}
	// YCbCr 4:2:0 and 4:4:4 turn plane by plane and stay YCbCr (a quarter
	// turn keeps both): no trip through RGB, and chroma is not averaged
	// again by the encoder.
	if y, ok := m.(*image.YCbCr); ok && (y.SubsampleRatio == image.YCbCrSubsampleRatio420 || y.SubsampleRatio == image.YCbCrSubsampleRatio444) {
		w, h := y.Rect.Dx(), y.Rect.Dy()
		cw, ch := chromaSize(y)
		Y, dw, dh := transformPlane(y.Y, y.YStride, w, h, t, 1)
		Cb, ccw, _ := transformPlane(y.Cb, y.CStride, cw, ch, t, 1)
		Cr, _, _ := transformPlane(y.Cr, y.CStride, cw, ch, t, 1)
		return &image.YCbCr{Y: Y, Cb: Cb, Cr: Cr, YStride: dw, CStride: ccw, SubsampleRatio: y.SubsampleRatio, Rect: image.Rect(0, 0, dw, dh)}
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
	dst, dw, dh := transformPlane(src, stride, sw, sh, t, bpp)
	if bpp == 1 {
		return &image.Gray{Pix: dst, Stride: dw, Rect: image.Rect(0, 0, dw, dh)}
	}
	return &image.RGBA{Pix: dst, Stride: 4 * dw, Rect: image.Rect(0, 0, dw, dh)}
}

// transformPlane moves the pixels (bpp bytes each) of one plane by t into a
// new, tightly packed plane.
func transformPlane(src []byte, stride, sw, sh int, t transform, bpp int) ([]byte, int, int) {
	dw, dh := sw, sh
	if t.swapsAxes() {
		dw, dh = sh, sw
	}
	dst := make([]byte, dw*dh*bpp)
	// Offsets bring negative coordinates back into [0, size).
	ox, oy := 0, 0
	if t[0] < 0 || t[1] < 0 {
		ox = dw - 1
	}
	if t[2] < 0 || t[3] < 0 {
		oy = dh - 1
	}
	// Destination index of source (x, y): x*sx + y*sy + o, in pixels.
	sx := t[0] + t[2]*dw
	sy := t[1] + t[3]*dw
	o := ox + oy*dw
	parallelRows(sh, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := src[y*stride : y*stride+sw*bpp]
			d := y*sy + o
			if bpp == 1 {
				for _, v := range row {
					dst[d] = v
					d += sx
				}
				continue
			}
			for x := 0; x < sw; x++ {
				copy(dst[d*bpp:d*bpp+bpp], row[x*bpp:x*bpp+bpp])
				d += sx
			}
		}
	})
	return dst, dw, dh
}
