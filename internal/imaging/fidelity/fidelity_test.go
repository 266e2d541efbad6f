package fidelity

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/clinicpro/medtech-images/internal/imaging"
)

func noisy(w, h int, seed uint64) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 1))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(128 + 60*((x/9+y/7)%2) + r.IntN(20))
			m.SetRGBA(x, y, color.RGBA{v, v / 2, 255 - v, 255})
		}
	}
	return m
}

func TestIdenticalIsPerfectAndDamageCosts(t *testing.T) {
	a := noisy(320, 240, 1)
	if s := Compare(a, a); s.PSNR != 99 || s.SSIM < 0.9999 {
		t.Fatalf("identical: %+v", s)
	}
	b := noisy(320, 240, 2) // same pattern, other noise
	s := Compare(a, b)
	if s.PSNR > 35 || s.PSNR < 20 || s.SSIM > 0.99 {
		t.Fatalf("different noise: %+v", s)
	}
	// A smaller copy scaled back up has lost detail; a larger one less.
	full, _ := Measure(a, a)
	if full.PSNR != 99 {
		t.Fatalf("self at full size: %+v", full)
	}
	half, _ := Measure(a, imaging.Lanczos(a, 160, 120))
	most, _ := Measure(a, imaging.Lanczos(a, 280, 210))
	if !(half.PSNR < most.PSNR && most.PSNR < 99 && half.SSIM < most.SSIM) {
		t.Fatalf("half %+v, seven eighths %+v", half, most)
	}
}
