package imaging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/image/tiff"
)

func convert(t *testing.T, in []byte, opt Options) Result {
	t.Helper()
	r, err := Convert(context.Background(), in, opt)
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	if int64(len(r.Data)) > max(opt.Budget, 0) && opt.Budget > 0 || len(r.Data) > 1_000_000 && opt.Budget == 0 {
		t.Fatalf("output %d bytes is over budget", len(r.Data))
	}
	return r
}

func pagesOf(t *testing.T, r Result) []image.Image {
	t.Helper()
	var pages []image.Image
	var err error
	if r.ContentType == "application/pdf" {
		pages, err = decodeOwnPDF(r.Data)
	} else {
		pages, err = decodeOwnTIFF(r.Data)
	}
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	return pages
}

func TestOrientationAllEight(t *testing.T) {
	upright := photo(480, 320)
	for o := 1; o <= 8; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			in := jpegWithExif(t, stored(upright, o), o, true)
			for _, f := range []Format{FormatTIFF, FormatPDF} {
				r := convert(t, in, Options{Format: f})
				if r.Width != 480 || r.Height != 320 {
					t.Fatalf("format %d: got %dx%d, want 480x320 upright", f, r.Width, r.Height)
				}
				if r.Kind != KindPhoto || r.Encoding != "jpeg" {
					t.Fatalf("got kind %v encoding %s, want a JPEG photo", r.Kind, r.Encoding)
				}
				checkUpright(t, pagesOf(t, r)[0])
				if bytes.Contains(r.Data, []byte("GPSMARKER")) || bytes.Contains(r.Data, []byte("Exif")) {
					t.Fatal("EXIF/GPS data survived into the output")
				}
			}
		})
	}
}

func TestRotateAddsQuarterTurns(t *testing.T) {
	upright := photo(480, 320)
	// Stored sideways (orientation 6) and the GP asks for one more clockwise
	// turn: the result is the upright image turned 90 degrees clockwise, so
	// the upright top-left (red) lands top-right.
	in := jpegWithExif(t, stored(upright, 6), 6, false)
	r := convert(t, in, Options{Rotate: 1})
	if r.Width != 320 || r.Height != 480 {
		t.Fatalf("got %dx%d, want 320x480", r.Width, r.Height)
	}
	m := pagesOf(t, r)[0]
	if c := m.At(288, 48); !near(c, cTL, 40) {
		t.Errorf("top-right is %v, want red", c)
	}
	if c := m.At(32, 48); !near(c, cBL, 40) {
		t.Errorf("top-left is %v, want blue", c)
	}
	// Three more quarter turns bring it back upright.
	r = convert(t, in, Options{Rotate: -1 + 4})
	if r.Width != 320 {
		// -1+4 = 3 clockwise turns = one anticlockwise
		t.Fatalf("got %dx%d after 3 turns", r.Width, r.Height)
	}
	r = convert(t, in, Options{Rotate: 4})
	checkUpright(t, pagesOf(t, r)[0])
}

func TestJPEGInTIFFReadByLibtiff(t *testing.T) {
	r := convert(t, jpegWithExif(t, photo(1000, 750), 1, true), Options{})
	if r.ContentType != "image/tiff" || r.Ext != ".tif" {
		t.Fatalf("got %s %s", r.ContentType, r.Ext)
	}
	t.Run("tiffinfo", func(t *testing.T) {
		out := tool(t, r.Data, ".tif", "tiffinfo", "-D")
		for _, want := range []string{"Compression Scheme: JPEG", "Photometric Interpretation: YCbCr", "YCbCr Subsampling: 2, 2", "Resolution: "} {
			if !strings.Contains(out, want) {
				t.Errorf("tiffinfo output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(strings.ToLower(out), "warning") || strings.Contains(out, "error") {
			t.Errorf("libtiff complained:\n%s", out)
		}
	})
	t.Run("tiffcp", func(t *testing.T) {
		tool(t, r.Data, ".tif", "tiffcp", "-c", "none", "IN", "OUT") // decodes every strip
	})
}

func TestDeterministic(t *testing.T) {
	in := jpegWithExif(t, stored(photo(900, 700), 3), 3, true)
	for _, f := range []Format{FormatTIFF, FormatPDF} {
		a := convert(t, in, Options{Format: f, Budget: 60_000})
		b := convert(t, in, Options{Format: f, Budget: 60_000})
		if !bytes.Equal(a.Data, b.Data) {
			t.Fatalf("format %d: two conversions of the same input differ", f)
		}
	}
	doc := scan(t, 1240, 1754)
	a := convert(t, doc, Options{})
	b := convert(t, doc, Options{})
	if !bytes.Equal(a.Data, b.Data) {
		t.Fatal("document conversions differ")
	}
}

func TestBudgetSearchLowersQualityThenSize(t *testing.T) {
	in := jpegWithExif(t, noisy(1200, 900), 1, false)
	big := convert(t, in, Options{})
	if big.Quality != 95 || big.Width != 1200 {
		t.Fatalf("generous budget: got q%d at %d px, want q95 at full size", big.Quality, big.Width)
	}
	r := convert(t, in, Options{Budget: int64(len(big.Data)) * 3 / 4})
	if r.Quality >= 95 || r.Quality < 80 || r.Width != 1200 {
		t.Fatalf("tighter budget: got q%d at %d px, want a lower quality at full size", r.Quality, r.Width)
	}
	// A budget-bound photo is written with trellis quantisation: libtiff
	// must decode every strip of it too.
	tool(t, r.Data, ".tif", "tiffcp", "-c", "none", "IN", "OUT")
	// When the full size only fits below GoodQuality, a smaller size that
	// reaches it is preferred.
	strict := Options{Budget: int64(len(big.Data)) * 3 / 4, GoodQuality: 94}
	small := convert(t, in, strict)
	if small.Width >= 1200 || small.Width < 800 || small.Quality < 94 {
		t.Fatalf("got q%d at %d px, want q>=94 at a smaller size above the floor", small.Quality, small.Width)
	}
	_, err := Convert(context.Background(), in, Options{Budget: 5000})
	if !errors.Is(err, ErrUnreadable) {
		t.Fatalf("tiny budget: got %v, want ErrUnreadable", err)
	}
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "unreadable") {
		t.Fatalf("error should explain itself, got %v", err)
	}
}

func TestNeverUpscales(t *testing.T) {
	r := convert(t, jpegWithExif(t, photo(300, 200), 1, false), Options{})
	if r.Width != 300 || r.Height != 200 {
		t.Fatalf("got %dx%d, want the source's 300x200", r.Width, r.Height)
	}
}

// A large JPEG is decoded at the smallest DCT-domain reduction that still
// covers a 1920-pixel view, and sent at that size when the budget carries
// it at a good quality; one that a reduction would take below the view is
// decoded whole, and its size is not tied to fractions of the source.
func TestPhotoSizeFollowsTheView(t *testing.T) {
	for _, c := range []struct{ long, want int }{
		{4032, 2}, {8064, 4}, {16128, 8}, {3838, 1}, {3839, 2}, {3024, 1}, {1000, 1},
	} {
		if got := jpegScale(c.long, min(c.long, ViewEdge)); got != c.want {
			t.Errorf("a %d px source decodes at 1/%d, want 1/%d", c.long, got, c.want)
		}
	}
	// A portrait phone photo: pixels stored 3840 x 2880 with EXIF
	// orientation 6 (the same pixels read as landscape without it). The
	// budget is one the half-size decode fills at quality 95 by more than
	// half: it stays at the view's size.
	j := jpegWithExif(t, stored(photo(2880, 3840), 6), 0, false)
	half := convert(t, withOrientation(j, 1), Options{MaxLongEdge: 1920})
	budget := int64(len(half.Data)) * 3 / 2
	for _, c := range []struct {
		in           []byte
		wantW, wantH int
	}{
		{withOrientation(j, 1), 1920, 1440},                        // 11 MP phone: half
		{withOrientation(j, 6), 1440, 1920},                        // the same, EXIF-rotated
		{jpegWithExif(t, photo(2592, 1944), 1, false), 2592, 1944}, // 5 MP: a half would be below the view
		{jpegWithExif(t, photo(2400, 2400), 1, false), 2400, 2400}, // square: whole
	} {
		r := convert(t, c.in, Options{Budget: budget})
		if r.Width != c.wantW || r.Height != c.wantH || r.Quality < 80 {
			t.Errorf("got %dx%d q%d, want %dx%d at q80 or better", r.Width, r.Height, r.Quality, c.wantW, c.wantH)
		}
		if c.wantH == 1920 {
			checkUpright(t, pagesOf(t, r)[0])
		}
	}
	// A generous budget buys detail: when the half-size decode fits at
	// the top quality in under half the budget, the photo is decoded whole.
	big := convert(t, withOrientation(j, 6), Options{Budget: int64(len(half.Data)) * 6})
	if big.Width != 2880 || big.Height != 3840 {
		t.Errorf("generous budget: got %dx%d q%d, want the whole 2880x3840", big.Width, big.Height, big.Quality)
	}
	checkUpright(t, pagesOf(t, big)[0])
}

// withOrientation inserts an EXIF orientation into a JPEG that has none.
func withOrientation(j []byte, o int) []byte {
	out := append([]byte{}, j[:2]...)
	out = append(out, exifAPP1(o, false)...)
	return append(out, j[2:]...)
}

func TestPhotoLadder(t *testing.T) {
	for _, c := range []struct {
		long, maxE, minE int
		want             string
	}{
		{2016, 4096, 800, "[2016 1774 1561 1373 1208 1063 935 822 800]"},
		{3024, 2560, 800, "[2560 2252 1981 1743 1533 1349 1187 1044 918 807 800]"},
		{600, 4096, 800, "[600]"},
	} {
		if got := fmt.Sprint(photoLadder(c.long, c.maxE, c.minE)); got != c.want {
			t.Errorf("photoLadder(%d,%d,%d) = %s, want %s", c.long, c.maxE, c.minE, got, c.want)
		}
	}
}

func TestLadder(t *testing.T) {
	for _, c := range []struct {
		long, maxE, minE int
		want             string
	}{
		{4032, 2560, 800, "[2016 1612 1344 1075 1008 806]"},
		{1600, 2560, 800, "[1600 1280 1024 819 800]"},
		{600, 2560, 800, "[600]"},
		{1200, 2560, 800, "[1200 960 800]"},
		{1000, 900, 800, "[900 800]"},
		{6000, 2560, 800, "[2000 1600 1500 1200 1000 857]"},
	} {
		if got := fmt.Sprint(ladder(c.long, c.maxE, c.minE)); got != c.want {
			t.Errorf("ladder(%d,%d,%d) = %s, want %s", c.long, c.maxE, c.minE, got, c.want)
		}
	}
}

// noisy is a photo-like image that does not compress well.
func noisy(w, h int) *image.RGBA {
	m := photo(w, h)
	s := uint32(12345)
	for i := range m.Pix {
		if i%4 == 3 {
			continue
		}
		s = s*1664525 + 1013904223
		m.Pix[i] = uint8(int(m.Pix[i])*3/4 + int(s>>24)/4)
	}
	return m
}

func TestGrayJPEGStaysGray(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 400, 300))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, g, nil)
	r := convert(t, buf.Bytes(), Options{Treat: KindPhoto})
	if _, ok := pagesOf(t, r)[0].(*image.Gray); !ok {
		t.Fatalf("a gray photo should stay a 1-component JPEG")
	}
	t.Run("tiffinfo", func(t *testing.T) {
		out := tool(t, r.Data, ".tif", "tiffinfo", "-D")
		if !strings.Contains(out, "min-is-black") {
			t.Errorf("want Photometric min-is-black:\n%s", out)
		}
	})
}

func TestDocumentBecomesLosslessGray(t *testing.T) {
	in := scan(t, 1240, 1754) // A4 at 150 dpi
	r := convert(t, in, Options{})
	if r.Kind != KindDocument || !strings.HasSuffix(r.Encoding, "deflate") || r.Quality != 0 {
		t.Fatalf("got kind %v encoding %s q%d, want a lossless document", r.Kind, r.Encoding, r.Quality)
	}
	if r.Width != 1240 || r.Height != 1754 {
		t.Fatalf("got %dx%d, want the scan's full 1240x1754", r.Width, r.Height)
	}
	// x/image/tiff, a reader we did not write, must read it too.
	m, err := tiff.Decode(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("x/image/tiff: %v", err)
	}
	if m.Bounds().Dx() != 1240 {
		t.Fatalf("x/image/tiff read %v", m.Bounds())
	}
	t.Run("tiffinfo", func(t *testing.T) {
		out := tool(t, r.Data, ".tif", "tiffinfo", "-D")
		if !strings.Contains(out, "Deflate") || !strings.Contains(out, "Resolution: 150, 150 pixels/inch") {
			t.Errorf("tiffinfo:\n%s", out)
		}
	})
	// A tight budget forces the bilevel version, still at full resolution.
	bl := convert(t, in, Options{Budget: 300_000})
	if bl.Encoding != "bilevel-deflate" || bl.Width != 1240 {
		t.Fatalf("got %s at %d px, want bilevel at full size", bl.Encoding, bl.Width)
	}
	if m, err := tiff.Decode(bytes.NewReader(bl.Data)); err != nil || m.Bounds().Dx() != 1240 {
		t.Fatalf("x/image/tiff on the 1-bit page: %v", err)
	}
	g := pagesOf(t, bl)[0].(*image.Gray)
	black := 0
	for _, v := range g.Pix {
		if v == 0 {
			black++
		}
	}
	if black == 0 || black > len(g.Pix)/4 {
		t.Fatalf("bilevel page has %d of %d black pixels: text lost or inverted", black, len(g.Pix))
	}
	t.Run("tiffinfo-bilevel", func(t *testing.T) {
		out := tool(t, bl.Data, ".tif", "tiffinfo", "-D")
		if !strings.Contains(out, "Bits/Sample: 1") {
			t.Errorf("tiffinfo:\n%s", out)
		}
	})
	pdf := convert(t, in, Options{Format: FormatPDF, Budget: 300_000})
	t.Run("pdfinfo", func(t *testing.T) {
		out := tool(t, pdf.Data, ".pdf", "pdfinfo")
		if !regexp.MustCompile(`Pages:\s+1\n`).MatchString(out) || !strings.Contains(out, "595.2 x 841.92") {
			t.Errorf("pdfinfo:\n%s", out)
		}
	})
}

func TestPhotoIsNotMistakenForDocument(t *testing.T) {
	r := convert(t, jpegWithExif(t, photo(800, 600), 1, false), Options{})
	if r.Kind != KindPhoto {
		t.Fatalf("colourful photo classified as %v", r.Kind)
	}
	// A pale, skin-toned close-up is the risky case.
	skin := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for i := 0; i < len(skin.Pix); i += 4 {
		skin.Pix[i], skin.Pix[i+1], skin.Pix[i+2], skin.Pix[i+3] = 235, 200, 180, 255
	}
	for y := 280; y < 320; y++ {
		for x := 380; x < 420; x++ {
			skin.SetRGBA(x, y, color.RGBA{90, 40, 40, 255})
		}
	}
	r = convert(t, jpegWithExif(t, skin, 1, false), Options{})
	if r.Kind != KindPhoto {
		t.Fatal("skin close-up classified as a document")
	}
}

func TestPDFOutputChecked(t *testing.T) {
	r := convert(t, jpegWithExif(t, stored(photo(1200, 900), 8), 8, true), Options{Format: FormatPDF})
	if r.ContentType != "application/pdf" || r.Ext != ".pdf" {
		t.Fatalf("got %s", r.ContentType)
	}
	t.Run("pdfinfo", func(t *testing.T) {
		out := tool(t, r.Data, ".pdf", "pdfinfo")
		if !regexp.MustCompile(`Pages:\s+1\n`).MatchString(out) {
			t.Errorf("pdfinfo:\n%s", out)
		}
	})
	t.Run("qpdf", func(t *testing.T) { tool(t, r.Data, ".pdf", "qpdf", "--check") })
	// Our own PDF passes the checks: unchanged when passed through, and
	// rebuilt from its page image by default.
	p := convert(t, r.Data, Options{PDF: PDFPassThrough})
	if p.Kind != KindPDFPassthrough || !bytes.Equal(p.Data, r.Data) || p.Pages != 1 {
		t.Fatalf("passthrough changed the PDF or missed its pages: %+v", p.Kind)
	}
	rb := convert(t, r.Data, Options{})
	if rb.Kind != KindPhoto || rb.Pages != 1 || rb.Width != r.Width || rb.Height != r.Height {
		t.Fatalf("rebuild: kind %v, %dx%d, want a %dx%d photo", rb.Kind, rb.Width, rb.Height, r.Width, r.Height)
	}
}

func TestConvertManyMultiPage(t *testing.T) {
	inputs := [][]byte{
		jpegWithExif(t, photo(900, 600), 1, false),
		scan(t, 1240, 1754),
		jpegWithExif(t, stored(photo(900, 600), 6), 6, true),
	}
	tf, err := ConvertMany(context.Background(), inputs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pages := pagesOf(t, tf)
	if tf.Pages != 3 || len(pages) != 3 {
		t.Fatalf("got %d pages", len(pages))
	}
	checkUpright(t, pages[0])
	checkUpright(t, pages[2])
	if _, ok := pages[1].(*image.Gray); !ok {
		t.Error("the scan page should be a gray/bilevel page")
	}
	t.Run("tiffinfo", func(t *testing.T) {
		out := tool(t, tf.Data, ".tif", "tiffinfo", "-D")
		if n := strings.Count(out, "TIFF Directory at offset"); n != 3 {
			t.Errorf("libtiff sees %d directories, want 3:\n%s", n, out)
		}
	})
	pdf, err := ConvertMany(context.Background(), inputs, Options{Format: FormatPDF})
	if err != nil {
		t.Fatal(err)
	}
	if len(pagesOf(t, pdf)) != 3 {
		t.Fatal("PDF should have 3 pages")
	}
	t.Run("pdfinfo", func(t *testing.T) {
		if out := tool(t, pdf.Data, ".pdf", "pdfinfo"); !regexp.MustCompile(`Pages:\s+3\n`).MatchString(out) {
			t.Errorf("pdfinfo:\n%s", out)
		}
	})
	t.Run("qpdf", func(t *testing.T) { tool(t, pdf.Data, ".pdf", "qpdf", "--check") })
	_, err = ConvertMany(context.Background(), append(inputs, []byte("junk")), Options{})
	if !errors.Is(err, ErrUnsupported) || !strings.HasPrefix(err.Error(), "Page 4:") {
		t.Fatalf("got %v, want an unsupported error naming page 4", err)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Convert(ctx, jpegWithExif(t, photo(400, 300), 1, false), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestThumbnailUpright(t *testing.T) {
	m, err := Thumbnail(context.Background(), jpegWithExif(t, stored(photo(1600, 1200), 6), 6, false), 256)
	if err != nil {
		t.Fatal(err)
	}
	if b := m.Bounds(); b.Dx() != 256 || b.Dy() != 192 {
		t.Fatalf("thumbnail is %v, want 256x192", b)
	}
	checkUpright(t, m)
}
