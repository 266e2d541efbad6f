package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func enc(t *testing.T, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestInputKinds(t *testing.T) {
	base := photo(160, 120)
	rgba64 := image.NewRGBA64(base.Rect)
	nrgba := image.NewNRGBA(base.Rect)
	pal := image.NewPaletted(base.Rect, color.Palette{cTL, cTR, cBL, cBR})
	for y := 0; y < 120; y++ {
		for x := 0; x < 160; x++ {
			c := base.At(x, y)
			rgba64.Set(x, y, c)
			nrgba.Set(x, y, c)
			pal.Set(x, y, c)
		}
	}
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		data []byte
		typ  Type
	}{
		{"png-8bit", enc(t, func(b *bytes.Buffer) error { return png.Encode(b, nrgba) }), TypePNG},
		{"png-16bit", enc(t, func(b *bytes.Buffer) error { return png.Encode(b, rgba64) }), TypePNG},
		{"png-palette", enc(t, func(b *bytes.Buffer) error { return png.Encode(b, pal) }), TypePNG},
		{"gif", enc(t, func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) }), TypeGIF},
		{"bmp", enc(t, func(b *bytes.Buffer) error { return bmp.Encode(b, base) }), TypeBMP},
		{"tiff-deflate", enc(t, func(b *bytes.Buffer) error {
			return tiff.Encode(b, base, &tiff.Options{Compression: tiff.Deflate})
		}), TypeTIFF},
		{"tiff-lzw", read("lzw.tif"), TypeTIFF},
		{"jpeg-progressive", read("progressive.jpg"), TypeJPEG},
		{"jpeg-cmyk", read("cmyk.jpg"), TypeJPEG},
		{"webp-lossy", read("lossy.webp"), TypeWebP},
		{"webp-lossless", read("lossless.webp"), TypeWebP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if typ, err := Sniff(c.data); typ != c.typ || err != nil {
				t.Fatalf("Sniff = %v, %v; want %v", typ, err, c.typ)
			}
			r := convert(t, c.data, Options{Treat: KindPhoto})
			if r.Source != c.typ || r.Width != 160 || r.Height != 120 {
				t.Fatalf("got %v %dx%d", r.Source, r.Width, r.Height)
			}
			checkUpright(t, pagesOf(t, r)[0])
		})
	}
}

func TestAlphaFlattenedOnWhite(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	for y := 0; y < 100; y++ {
		for x := 100; x < 200; x++ {
			m.SetNRGBA(x, y, color.NRGBA{200, 20, 20, 255})
		}
	}
	r := convert(t, enc(t, func(b *bytes.Buffer) error { return png.Encode(b, m) }), Options{Treat: KindPhoto})
	out := pagesOf(t, r)[0]
	if c := out.At(20, 50); !near(c, color.RGBA{255, 255, 255, 255}, 8) {
		t.Errorf("transparent area became %v, want white", c)
	}
	if c := out.At(180, 50); !near(c, color.RGBA{200, 20, 20, 255}, 16) {
		t.Errorf("opaque area became %v", c)
	}
}

// pngClaiming returns a valid tiny PNG whose header claims w x h pixels.
func pngClaiming(t *testing.T, w, h uint32) []byte {
	b := enc(t, func(b *bytes.Buffer) error { return png.Encode(b, image.NewGray(image.Rect(0, 0, 1, 1))) })
	ihdr := b[8+8 : 8+8+13]
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	binary.BigEndian.PutUint32(b[8+8+13:], crc32.ChecksumIEEE(b[12:8+8+13]))
	return b
}

func TestErrorsArePersonReadable(t *testing.T) {
	j := jpegWithExif(t, photo(400, 300), 6, true)
	p := enc(t, func(b *bytes.Buffer) error { return png.Encode(b, photo(300, 200)) })
	pdf := convert(t, j, Options{Format: FormatPDF}).Data
	// A complete file with a nonsensical Huffman table up front.
	garbage := append([]byte{0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x06, 0xFF, 0xFF, 0xFF, 0xFF}, j[2:]...)
	cases := []struct {
		name string
		data []byte
		opt  Options
		kind error
		says string
	}{
		{"empty", nil, Options{}, ErrEmpty, "empty"},
		{"truncated-jpeg", j[:len(j)/2], Options{}, ErrTruncated, "cut short"},
		{"truncated-png", p[:len(p)/2], Options{}, ErrTruncated, "cut short"},
		{"corrupt-jpeg", garbage, Options{}, ErrCorrupt, "damaged"},
		{"zip", []byte("PK\x03\x04 a word document"), Options{}, ErrUnsupported, "ZIP"},
		{"text", []byte("hello, this is not an image"), Options{}, ErrUnsupported, "not a recognised image"},
		{"heic", append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...), Options{}, ErrHEIC, "Most Compatible"},
		{"bomb", pngClaiming(t, 20000, 20000), Options{}, ErrTooManyPixels, "400 megapixels"},
		{"too-large", j, Options{MaxInputBytes: 1000}, ErrTooLarge, "limit"},
		{"pdf-over-budget", pdf, Options{Budget: int64(len(pdf)) - 1, PDF: PDFPassThrough}, ErrPDFOverBudget, "kB limit for Medtech"},
		{"pdf-truncated", pdf[:len(pdf)-40], Options{}, ErrTruncated, "cut short"},
		{"pdf-corrupt", []byte("%PDF-1.4\nnothing here\nstartxref\n5\n%%EOF\n"), Options{}, ErrCorrupt, "damaged"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Convert(context.Background(), c.data, c.opt)
			if !errors.Is(err, c.kind) {
				t.Fatalf("got %v, want %v", err, c.kind)
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(e.Msg, c.says) || !strings.HasSuffix(e.Msg, ".") {
				t.Fatalf("message %q should say %q in a sentence", err, c.says)
			}
		})
	}
}

func TestSniffIgnoresExtensionsAndNamesVariants(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Type
	}{
		{"\xff\xd8\xff\xe0", TypeJPEG},
		{"\x89PNG\r\n\x1a\n", TypePNG},
		{"GIF89a", TypeGIF},
		{"II*\x00", TypeTIFF},
		{"MM\x00*", TypeTIFF},
		{"RIFF\x00\x00\x00\x00WEBP", TypeWebP},
		{"%PDF-1.7", TypePDF},
		{"\x00\x00\x00\x18ftypmif1", TypeHEIC},
	} {
		if got, err := Sniff([]byte(c.in)); got != c.want || err != nil {
			t.Errorf("Sniff(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if _, err := Sniff([]byte("\x00\x00\x00\x18ftypavif")); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "AVIF") {
		t.Errorf("AVIF: %v", err)
	}
	if typ, err := Sniff([]byte("BM not really a bitmap")); typ != TypeUnknown || err == nil {
		t.Error("two letters BM alone must not count as a bitmap")
	}
}

func TestReadLimited(t *testing.T) {
	if _, err := ReadLimited(strings.NewReader(strings.Repeat("x", 101)), 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	b, err := ReadLimited(strings.NewReader("abc"), 100)
	if err != nil || string(b) != "abc" {
		t.Fatalf("got %q %v", b, err)
	}
}

func TestMultiPageTIFFInputKeepsEveryPage(t *testing.T) {
	// A document feeder's 3-page TIFF (8-bit and 1-bit Deflate pages, as
	// scanners write them); x/image/tiff alone would read only page 1.
	var pgs []*page
	for i := 0; i < 3; i++ {
		g := scanImage(600+60*i, 850)
		pgs = append(pgs, deflatePage(g, 8-7*(i%2), 100, false, 1<<30))
	}
	in := writeTIFF(pgs)
	if m, err := tiff.Decode(bytes.NewReader(in)); err != nil || m.Bounds().Dx() != 600 {
		t.Fatalf("test input unreadable: %v", err)
	}
	for _, f := range []Format{FormatTIFF, FormatPDF} {
		r := convert(t, in, Options{Format: f})
		pages := pagesOf(t, r)
		if r.Pages != 3 || len(pages) != 3 {
			t.Fatalf("format %d: got %d pages, want 3", f, len(pages))
		}
		for i, p := range pages {
			if p.Bounds().Dx() != 600+60*i {
				t.Errorf("page %d is %v wide, want %d (pages out of order?)", i+1, p.Bounds().Dx(), 600+60*i)
			}
		}
	}
	// Joined with a photo, the TIFF contributes all three pages.
	r, err := ConvertMany(context.Background(), [][]byte{jpegWithExif(t, photo(300, 200), 1, false), in}, Options{})
	if err != nil || r.Pages != 4 {
		t.Fatalf("ConvertMany: %d pages, %v; want 4", r.Pages, err)
	}
	// A 4-byte "TIFF" must not crash the page walk.
	if _, err := Convert(context.Background(), []byte("II*\x00"), Options{}); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("4-byte TIFF: %v", err)
	}
}
