package imaging

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/imaging/hostile"
)

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// What a practice really sends stays inside the budget.
func TestDecodeBudgetAdmitsRealInputs(t *testing.T) {
	for _, c := range []struct {
		name string
		in   input
		max  int64
	}{
		{"baseline 48 MP 4:2:0", input{t: TypeJPEG, b: hostile.BaselineJPEGClaiming(8000, 6000)}, 80e6},
		{"progressive 12 MP", input{t: TypeJPEG, b: hostile.ProgressiveJPEGClaiming(4032, 3024, 3)}, 150e6},
		{"grey A4 300 dpi TIFF", input{t: TypeTIFF, b: hostile.TIFFClaiming(2480, 3508, 8, 1, false)}, 40e6},
		{"RGBA PNG 12 MP", input{t: TypePNG, b: hostile.PNGClaiming(4032, 3024, 6, false)}, 50e6},
	} {
		c2 := estimateDecode(c.in)
		if c2.bytes() <= 0 || c2.bytes() > c.max {
			t.Errorf("%s: estimated %d bytes, want (0, %d]", c.name, c2.bytes(), c.max)
		}
	}
	// 26 grey A4 pages at 300 dpi, one strip each, fit together; 27 do not.
	var doc decodeCost
	a4 := hostile.TIFFClaiming(2480, 3508, 8, 30, false)
	for i, in := range tiffPages(TypeTIFF, a4) {
		doc.add(estimateDecode(in))
		if fits := doc.bytes() <= DefaultDecodeBudget; fits != (i < 26) {
			t.Errorf("%d A4 pages: fit %v", i+1, fits)
		}
	}
	if _, err := Convert(context.Background(), a4, Options{}); !errors.Is(err, ErrDecodeBudget) {
		t.Errorf("30 A4 pages: %v", err)
	}
}

// The estimate is an upper bound of what the decoders really allocate.
func TestDecodeEstimateBoundsRealDecodes(t *testing.T) {
	for name, in := range map[string]input{
		"jpeg":        {t: TypeJPEG, b: jpegWithExif(t, photo(1200, 900), 0, false)},
		"progressive": {t: TypeJPEG, b: mustRead(t, "testdata/progressive.jpg")},
		"png-rgba":    {t: TypePNG, b: enc(t, func(b *bytes.Buffer) error { return png.Encode(b, photo(1200, 800)) })},
		"tiff-gray":   {t: TypeTIFF, b: writeTIFF([]*page{deflatePage(scanImage(1500, 1800), 8, 100, false, 1<<30)})},
	} {
		est := estimateDecode(in).bytes()
		got := allocated(func() {
			m, err := decodePixels(in)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			normalize(m)
		})
		// Total allocation (garbage included) bounds the peak from above,
		// so this errs on the side of failing.
		if int64(got) > est*5/4+256<<10 {
			t.Errorf("%s: decoding allocated %d bytes, estimate %d", name, got, est)
		}
	}
}

// Conversions and thumbnails share one decode slot: while it is taken,
// both wait, and give up when their context ends.
func TestLimiterSharedByConvertAndThumbnail(t *testing.T) {
	j := jpegWithExif(t, photo(400, 300), 1, false)
	release, err := DefaultLimiter.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Thumbnail(ctx, j, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("thumbnail while a decode runs: %v, want it to wait until its deadline", err)
	}
	if _, err := Convert(ctx, j, Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("convert while a decode runs: %v", err)
	}
	// A private limiter is independent of the shared one.
	if _, err := Convert(context.Background(), j, Options{Limiter: NewLimiter()}); err != nil {
		t.Errorf("own limiter: %v", err)
	}
	release()
	if _, err := Thumbnail(context.Background(), j, 100); err != nil {
		t.Errorf("after release: %v", err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
