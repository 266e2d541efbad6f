package imaging

import (
	"image"
	"image/color"
	"sort"
)

// Kind is what a converted item turned out to be.
type Kind int

const (
	KindAuto           Kind = iota // only in Options: detect
	KindPhoto                      // JPEG-compressed (TIFF or PDF)
	KindDocument                   // grayscale or bilevel, lossless Deflate
	KindPDFPassthrough             // a valid PDF sent unchanged
)

func (k Kind) String() string {
	switch k {
	case KindPhoto:
		return "photo"
	case KindDocument:
		return "document"
	case KindPDFPassthrough:
		return "pdf"
	}
	return "auto"
}

// looksLikeDocument decides from a sparse grid of samples whether m is a page
// of text: almost no colour, mostly paper-bright, with a minority of dark ink
// and few mid-tones. Mistaking a photo for a document would destroy it
// (thresholding), so every test leans towards "photo"; skin is colourful
// enough to fail the first one.
func looksLikeDocument(m image.Image) bool {
	const grid = 160
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 64 || h < 64 {
		return false
	}
	lum := make([]int, 0, grid*grid)
	colourful := 0
	for j := 0; j < grid; j++ {
		y := b.Min.Y + (2*j+1)*h/(2*grid)
		for i := 0; i < grid; i++ {
			x := b.Min.X + (2*i+1)*w/(2*grid)
			l, c := sample(m, x, y)
			lum = append(lum, l)
			if c > 24 {
				colourful++
			}
		}
	}
	n := len(lum)
	if colourful*100 > 3*n {
		return false
	}
	sort.Ints(lum)
	paper := lum[n*90/100]
	if paper < 140 {
		return false
	}
	bright, dark := 0, 0
	for _, l := range lum {
		switch {
		case l*100 >= paper*75:
			bright++
		case l*100 < paper*50:
			dark++
		}
	}
	mid := n - bright - dark
	return bright*100 >= 60*n && dark*1000 >= 5*n && dark*100 <= 30*n && mid*100 <= 20*n
}

// sample returns luma and a chroma magnitude (|Cb-128|+|Cr-128|) at (x, y).
func sample(m image.Image, x, y int) (int, int) {
	switch s := m.(type) {
	case *image.YCbCr:
		ci := s.COffset(x, y)
		return int(s.Y[s.YOffset(x, y)]), abs(int(s.Cb[ci])-128) + abs(int(s.Cr[ci])-128)
	case *image.Gray:
		return int(s.Pix[s.PixOffset(x, y)]), 0
	case *image.RGBA:
		i := s.PixOffset(x, y)
		yy, cb, cr := color.RGBToYCbCr(s.Pix[i], s.Pix[i+1], s.Pix[i+2])
		return int(yy), abs(int(cb)-128) + abs(int(cr)-128)
	}
	r, g, bb, _ := m.At(x, y).RGBA()
	yy, cb, cr := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bb>>8))
	return int(yy), abs(int(cb)-128) + abs(int(cr)-128)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
