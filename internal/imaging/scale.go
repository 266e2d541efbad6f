package imaging

import (
	"image"
	"runtime"
	"sync"

	"golang.org/x/image/draw"
)

// resize scales m (a normalized image) to exactly w x h, never up. An integer
// box shrink does most of the reduction, straight on the YCbCr or Gray planes:
// it is an exact area average (no aliasing), runs on both cores and avoids
// CatmullRom's dstW x srcH float64 temporary that costs ~150 MB at 12 MP. The
// kernel scaler then only covers the remaining factor (< 2).
func resize(m image.Image, w, h int) image.Image {
	b := m.Bounds()
	if w >= b.Dx() && h >= b.Dy() {
		return m
	}
	k := min(b.Dx()/w, b.Dy()/h)
	if k >= 2 {
		m = boxShrink(m, k)
		b = m.Bounds()
	}
	if b.Dx() == w && b.Dy() == h {
		return m
	}
	var dst draw.Image
	if _, ok := m.(*image.Gray); ok {
		dst = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	draw.CatmullRom.Scale(dst, dst.Bounds(), m, b, draw.Src, nil)
	return dst
}

// boxShrink averages k x k blocks. Edge pixels that do not fill a whole block
// are dropped (at most k-1 columns and rows), which keeps every output pixel
// an average of the same number of inputs.
func boxShrink(m image.Image, k int) image.Image {
	switch s := m.(type) {
	case *image.YCbCr:
		w, h := s.Rect.Dx()/k, s.Rect.Dy()/k
		d := image.NewYCbCr(image.Rect(0, 0, w, h), s.SubsampleRatio)
		shrinkPlane(d.Y, d.YStride, w, h, s.Y, s.YStride, s.Rect.Dx(), s.Rect.Dy(), k)
		cw, ch := chromaSize(d)
		scw, sch := chromaSize(s)
		shrinkPlane(d.Cb, d.CStride, cw, ch, s.Cb, s.CStride, scw, sch, k)
		shrinkPlane(d.Cr, d.CStride, cw, ch, s.Cr, s.CStride, scw, sch, k)
		return d
	case *image.Gray:
		w, h := s.Rect.Dx()/k, s.Rect.Dy()/k
		d := image.NewGray(image.Rect(0, 0, w, h))
		shrinkPlane(d.Pix, d.Stride, w, h, s.Pix, s.Stride, s.Rect.Dx(), s.Rect.Dy(), k)
		return d
	case *image.RGBA:
		w, h := s.Rect.Dx()/k, s.Rect.Dy()/k
		d := image.NewRGBA(image.Rect(0, 0, w, h))
		shrinkInterleaved(d.Pix, d.Stride, w, h, s.Pix, s.Stride, k, 4)
		return d
	}
	panic("imaging: boxShrink on a non-normalized image")
}

// chromaSize is the visible size of the Cb and Cr planes (decoders pad them
// to whole MCUs, so the stride and slice length overstate it).
func chromaSize(m *image.YCbCr) (int, int) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		return (w + 1) / 2, h
	case image.YCbCrSubsampleRatio420:
		return (w + 1) / 2, (h + 1) / 2
	case image.YCbCrSubsampleRatio440:
		return w, (h + 1) / 2
	case image.YCbCrSubsampleRatio411:
		return (w + 3) / 4, h
	case image.YCbCrSubsampleRatio410:
		return (w + 3) / 4, (h + 1) / 2
	}
	return w, h
}

// shrinkPlane box-averages one 8-bit plane. Source indices are clamped so
// chroma planes, whose rounding differs from luma's, still map block for
// block.
func shrinkPlane(dst []byte, dstStride, w, h int, src []byte, srcStride, sw, sh, k int) {
	if w == 0 || h == 0 || sw == 0 || sh == 0 {
		return
	}
	parallelRows(h, func(y0, y1 int) {
		sum := make([]uint32, w)
		n := uint32(k * k)
		for y := y0; y < y1; y++ {
			clear(sum)
			for dy := 0; dy < k; dy++ {
				sy := min(y*k+dy, sh-1)
				row := src[sy*srcStride : sy*srcStride+sw]
				for x := 0; x < w; x++ {
					sx := x * k
					if sx+k <= sw {
						for _, v := range row[sx : sx+k] {
							sum[x] += uint32(v)
						}
					} else {
						for dx := 0; dx < k; dx++ {
							sum[x] += uint32(row[min(sx+dx, sw-1)])
						}
					}
				}
			}
			out := dst[y*dstStride : y*dstStride+w]
			for x := range out {
				out[x] = uint8((sum[x] + n/2) / n)
			}
		}
	})
}

func shrinkInterleaved(dst []byte, dstStride, w, h int, src []byte, srcStride, k, bpp int) {
	parallelRows(h, func(y0, y1 int) {
		sum := make([]uint32, w*bpp)
		n := uint32(k * k)
		for y := y0; y < y1; y++ {
			clear(sum)
			for dy := 0; dy < k; dy++ {
				row := src[(y*k+dy)*srcStride:]
				for x := 0; x < w; x++ {
					p := row[x*k*bpp : (x+1)*k*bpp]
					s := sum[x*bpp : x*bpp+bpp]
					for i := 0; i < len(p); i += bpp {
						for c := 0; c < bpp; c++ {
							s[c] += uint32(p[i+c])
						}
					}
				}
			}
			out := dst[y*dstStride : y*dstStride+w*bpp]
			for i := range out {
				out[i] = uint8((sum[i] + n/2) / n)
			}
		}
	})
}

// parallelRows splits [0,h) across the CPUs; the work per row is uniform so
// static chunks are enough.
func parallelRows(h int, f func(y0, y1 int)) {
	n := min(runtime.GOMAXPROCS(0), 8, max(1, h/16))
	if n <= 1 {
		f(0, h)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		y0, y1 := h*i/n, h*(i+1)/n
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(y0, y1)
		}()
	}
	wg.Wait()
}
