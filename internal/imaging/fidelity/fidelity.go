// Package fidelity measures how faithful a converted image is to its source,
// the way the imaging benchmark compares tools: every output is scaled to
// the source's full size, and both to a 1920-pixel view (what a clinician
// sees on a common monitor), with the same Lanczos-3 filter, and compared by
// PSNR over the RGB channels and SSIM over luma. Scaling every output back
// up to the source, rather than the source down to each output, is what
// makes a small output pay for the detail it dropped.
package fidelity

import (
	"math"

	"image"

	"github.com/clinicpro/medtech-images/internal/imaging"
)

// Score is one comparison.
type Score struct {
	PSNR float64 // dB over R, G and B
	SSIM float64 // mean SSIM of 8x8 luma windows, every 4 pixels
}

// View is the long edge of the monitor view.
const View = imaging.ViewEdge

// Measure compares out with src at src's full size and at the view size.
func Measure(src, out *image.RGBA) (full, view Score) {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	full = Compare(src, imaging.Lanczos(out, sw, sh))
	vw, vh := fit(sw, sh, View)
	ref := src
	if vw != sw || vh != sh {
		ref = imaging.Lanczos(src, vw, vh)
	}
	view = Compare(ref, imaging.Lanczos(out, vw, vh))
	return full, view
}

func fit(w, h, long int) (int, int) {
	if w >= h {
		return long, max(1, int(math.Round(float64(h)*float64(long)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(long)/float64(h)))), long
}

// Compare scores b against a (same size).
func Compare(a, b *image.RGBA) Score {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	var se float64
	ya, yb := make([]float64, w*h), make([]float64, w*h)
	for y := 0; y < h; y++ {
		pa, pb := a.Pix[y*a.Stride:], b.Pix[y*b.Stride:]
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				d := float64(pa[4*x+c]) - float64(pb[4*x+c])
				se += d * d
			}
			ya[y*w+x] = luma(pa[4*x:])
			yb[y*w+x] = luma(pb[4*x:])
		}
	}
	mse := se / float64(3*w*h)
	s := Score{PSNR: 99}
	if mse > 0 {
		s.PSNR = 10 * math.Log10(255*255/mse)
	}
	s.SSIM = ssim(ya, yb, w, h)
	return s
}

func luma(p []byte) float64 {
	return 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
}

// ssim is Wang et al.'s index with 8x8 windows stepped by 4 pixels and the
// usual constants for 8-bit data.
func ssim(a, b []float64, w, h int) float64 {
	const (
		c1 = (0.01 * 255) * (0.01 * 255)
		c2 = (0.03 * 255) * (0.03 * 255)
	)
	var sum float64
	n := 0
	for y := 0; y+8 <= h; y += 4 {
		for x := 0; x+8 <= w; x += 4 {
			var ma, mb, va, vb, cov float64
			for dy := 0; dy < 8; dy++ {
				ra, rb := a[(y+dy)*w+x:], b[(y+dy)*w+x:]
				for dx := 0; dx < 8; dx++ {
					ma += ra[dx]
					mb += rb[dx]
				}
			}
			ma /= 64
			mb /= 64
			for dy := 0; dy < 8; dy++ {
				ra, rb := a[(y+dy)*w+x:], b[(y+dy)*w+x:]
				for dx := 0; dx < 8; dx++ {
					da, db := ra[dx]-ma, rb[dx]-mb
					va += da * da
					vb += db * db
					cov += da * db
				}
			}
			va /= 63
			vb /= 63
			cov /= 63
			sum += (2*ma*mb + c1) * (2*cov + c2) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return sum / float64(n)
}
