package imaging

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func seedInputs(f *testing.F) [][]byte {
	var t testing.T
	j := jpegWithExif(&t, photo(48, 32), 6, true)
	var p bytes.Buffer
	png.Encode(&p, photo(40, 30))
	seeds := [][]byte{j, j[:len(j)/2], p.Bytes(), []byte("%PDF-1.4\n1 0 obj<</Type/Pages/Count 1>>endobj\nstartxref\n9\n%%EOF")}
	files, _ := filepath.Glob("testdata/*.*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && filepath.Ext(name) != ".md" {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// FuzzConvert drives the whole front door: whatever arrives in a watched
// folder must give a result under budget or an *Error, never a panic.
func FuzzConvert(f *testing.F) {
	for _, s := range seedInputs(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		opt := Options{MaxPixels: 1 << 20, Budget: 200_000}
		r, err := Convert(context.Background(), b, opt)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if int64(len(r.Data)) > opt.Budget {
			t.Fatalf("output %d over budget", len(r.Data))
		}
	})
}

// FuzzOrientation checks the EXIF/TIFF orientation parser on hostile bytes.
func FuzzOrientation(f *testing.F) {
	for o := 1; o <= 8; o++ {
		f.Add(exifAPP1(o, o%2 == 0))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, typ := range []Type{TypeJPEG, TypeTIFF, TypePNG, TypeWebP} {
			in := b
			if typ == TypeJPEG {
				in = append([]byte{0xFF, 0xD8}, b...)
			}
			if o := orientation(typ, in); o < 1 || o > 8 {
				t.Fatalf("orientation %d out of range", o)
			}
		}
		if len(b) > 10 {
			if o, ok := tiffOrientation(b[10:]); ok && (o < 1 || o > 8) {
				t.Fatalf("orientation %d out of range", o)
			}
		}
	})
}

// FuzzPDFPageCount checks the passthrough validator on hostile PDFs.
func FuzzPDFPageCount(f *testing.F) {
	var t testing.T
	f.Add(writePDF([]*page{mustJPEGPage(&t)}))
	f.Add([]byte("%PDF-1.5\n1 0 obj<</Type/ObjStm/Length 3>>stream\nabc\nendstream endobj\nstartxref\n9\n%%EOF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := pdfPageCount(b); err == nil && n < 1 {
			t.Fatalf("accepted a PDF with %d pages", n)
		}
	})
}

// FuzzReadBack checks our own TIFF and PDF readers, which guard every output.
func FuzzReadBack(f *testing.F) {
	var t testing.T
	p := mustJPEGPage(&t)
	f.Add(writeTIFF([]*page{p, deflatePage(scanImage(60, 90), 1, 300, false, 1<<20)}))
	f.Add(writePDF([]*page{p}))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeOwnTIFF(b)
		decodeOwnPDF(b)
	})
}

func mustJPEGPage(t *testing.T) *page {
	p, err := jpegPage(jpegWithExif(t, photo(48, 32), 0, false), 72)
	if err != nil {
		panic(err)
	}
	return p
}
