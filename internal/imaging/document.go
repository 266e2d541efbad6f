package imaging

import (
	"image"
	"image/draw"
)

// toGray returns the luma of m. For JPEG sources that is the Y plane as it
// is, with no colour conversion at all.
func toGray(m image.Image) *image.Gray {
	switch s := m.(type) {
	case *image.Gray:
		return s
	case *image.YCbCr:
		return &image.Gray{Pix: s.Y, Stride: s.YStride, Rect: s.Rect}
	case *image.RGBA:
		w, h := s.Rect.Dx(), s.Rect.Dy()
		g := image.NewGray(image.Rect(0, 0, w, h))
		parallelRows(h, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				src := s.Pix[y*s.Stride : y*s.Stride+4*w]
				dst := g.Pix[y*g.Stride : y*g.Stride+w]
				for x := range dst {
					r, gg, b := int32(src[4*x]), int32(src[4*x+1]), int32(src[4*x+2])
					dst[x] = uint8((19595*r + 38470*gg + 7471*b + 1<<15) >> 16) // same weights as image/color
				}
			}
		})
		return g
	}
	g := image.NewGray(image.Rect(0, 0, m.Bounds().Dx(), m.Bounds().Dy()))
	draw.Draw(g, g.Rect, m, m.Bounds().Min, draw.Src)
	return g
}

// bilevel thresholds g against its local mean (Bradley & Roth): a pixel is
// ink when it is clearly darker than its neighbourhood. A global threshold
// fails on phone photos of letters, whose paper darkens towards the corners.
// Pixels become 0 (ink) or 255 (paper).
func bilevel(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	// uint32 sums wrap for pages over 16 MP, but window differences stay
	// exact in modular arithmetic because each window holds far less.
	in := make([]uint32, (w+1)*(h+1))
	for y := 0; y < h; y++ {
		var row uint32
		src := g.Pix[y*g.Stride : y*g.Stride+w]
		up, cur := in[y*(w+1):], in[(y+1)*(w+1):]
		for x, v := range src {
			row += uint32(v)
			cur[x+1] = up[x+1] + row
		}
	}
	r := max(4, max(w, h)/32) // half window: about 5 mm on an A4 page
	out := image.NewGray(image.Rect(0, 0, w, h))
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			ya, yb := max(0, y-r), min(h, y+r+1)
			src := g.Pix[y*g.Stride : y*g.Stride+w]
			dst := out.Pix[y*out.Stride : y*out.Stride+w]
			for x, v := range src {
				xa, xb := max(0, x-r), min(w, x+r+1)
				sum := in[yb*(w+1)+xb] - in[ya*(w+1)+xb] - in[yb*(w+1)+xa] + in[ya*(w+1)+xa]
				n := uint64((yb - ya) * (xb - xa))
				// ink if v < 85% of the local mean, or dark outright: the
				// page has been flattened (paper is near 255 everywhere), and
				// inside a solid block wider than the window the mean is
				// ink too
				if uint64(v)*n*100 < uint64(sum)*85 || v < 96 {
					dst[x] = 0
				} else {
					dst[x] = 255
				}
			}
		}
	})
	return out
}
