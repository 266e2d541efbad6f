package imaging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/imaging/hostile"
)

func seedInputs(f *testing.F) [][]byte {
	var t testing.T
	j := jpegWithExif(&t, photo(48, 32), 6, true)
	var p bytes.Buffer
	png.Encode(&p, photo(40, 30))
	seeds := [][]byte{j, j[:len(j)/2], p.Bytes(), []byte("%PDF-1.4\n1 0 obj<</Type/Pages/Count 1>>endobj\nstartxref\n9\n%%EOF")}
	seeds = append(seeds, pdfSeeds(f)...)
	seeds = append(seeds, hostile.TIFFClaiming(300, 200, 8, 3, true), hostile.ProgressiveJPEGClaiming(300, 200, 3))
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

// pdfSeeds are PDFs of every shape the parser meets: ours, a scanner's,
// the attacks, object streams.
func pdfSeeds(t testing.TB) [][]byte {
	var tt testing.T
	seeds := [][]byte{
		writePDF([]*page{mustJPEGPage(&tt)}),
		hostile.ScannedPDF("", ""),
		hostile.ScannedPDF("/OpenAction [3 0 R /Fit]", "/Rotate 90"),
		hostile.ScannedPDF("/Names << /J#61vaScript << /Names [(x) << /S /JavaScript /JS (x) >>] >> >>", ""),
		[]byte("%PDF-1.5\n1 0 obj\n<</Type/ObjStm/N 1/First 4/Length 3>>stream\nabc\nendstream\nendobj\nstartxref\n9\n%%EOF"),
		[]byte("%PDF-1.4\n%<html><script>alert(1)</script>\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"),
		[]byte("%PDF-1.7\n1 0 obj << /A [1 2.5 -3 .5 (s\\(t\\)r\\101) <48 49> /N#20x true false null 4 0 R] /B << /C [[[]]] >> >> endobj\n%%EOF"),
	}
	for _, f := range hostile.Corpus() {
		if strings.HasSuffix(f.Name, ".pdf") {
			seeds = append(seeds, f.Data)
		}
	}
	return seeds
}

// FuzzPDF drives the PDF tokenizer, parser, safety checks, page tree walk
// and page-image reader on hostile bytes: no panic, no hang, and what is
// accepted obeys the checks' promises.
func FuzzPDF(f *testing.F) {
	for _, s := range pdfSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parsePDF(b)
		if err == nil {
			for _, def := range d.all {
				if s, ok := def.v.(*pdfStream); ok && !bytes.Equal(b[s.off:s.off+len(s.raw)], s.raw) {
					t.Fatal("stream data does not lie where the parser says")
				}
			}
		}
		d, err = checkPDF(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if !pdfHeader(b) || !allPDFSpace(b[bytes.LastIndex(b, []byte("%%EOF"))+5:]) {
			t.Fatal("accepted bytes outside the header and the last end-of-file marker")
		}
		for _, def := range d.all {
			if f := activeIn(d, def.v, 0); f != nil {
				t.Fatalf("accepted %s", f.what)
			}
		}
		if pages, err := d.pages(); err == nil {
			if imgs, why := d.pageImages(pages); why == "" {
				for _, p := range imgs {
					if in, why := d.imageInfo(p.img); why == "" && int64(in.w)*int64(in.h) < 1<<20 {
						d.decodeImage(in, p.img)
					}
				}
			}
		}
	})
}

// FuzzPDFValue checks the object parser against its own output: whatever it
// reads, written back out in PDF syntax, reads back the same.
func FuzzPDFValue(f *testing.F) {
	for _, s := range []string{
		"<< /Type /Page /Kids [1 0 R 2 0 R] /N#41me (a\\)b\\\\c\\n) /H <00ff> /R 1.5 /I -3 /B true /Z null >>",
		"[/a/b[/c]<<>>(nested (paren) ok)]", "(\\101\\1012\\0)", "/#2F#25", "<< /K [ -.5 +7 ] >>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := (&pdfLexer{b: b}).value(0, false)
		if err != nil {
			return
		}
		out := pdfWrite(v)
		w, err := (&pdfLexer{b: out}).value(0, false)
		if err != nil {
			t.Fatalf("re-reading %q: %v", out, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("%q read as %#v, written as %q, read back as %#v", b, v, out, w)
		}
	})
}

// pdfWrite writes a parsed value in PDF syntax, escaping everything that
// could be misread.
func pdfWrite(v any) []byte {
	var b bytes.Buffer
	var w func(v any)
	w = func(v any) {
		switch x := v.(type) {
		case nil:
			b.WriteString("null ")
		case bool:
			fmt.Fprintf(&b, "%v ", x)
		case int64:
			fmt.Fprintf(&b, "%d ", x)
		case float64:
			f := strconv.FormatFloat(x, 'f', -1, 64)
			if !strings.Contains(f, ".") {
				f += ".0" // stays a real, as it was read
			}
			b.WriteString(f + " ")
		case pdfName:
			b.WriteByte('/')
			for _, c := range []byte(x) {
				if isPDFRegular(c) && c != '#' && c > ' ' && c < 127 {
					b.WriteByte(c)
				} else {
					fmt.Fprintf(&b, "#%02x", c)
				}
			}
			b.WriteByte(' ')
		case pdfString:
			fmt.Fprintf(&b, "<%x> ", []byte(x))
		case pdfRef:
			fmt.Fprintf(&b, "%d %d R ", x.num, x.gen)
		case pdfArray:
			b.WriteString("[ ")
			for _, e := range x {
				w(e)
			}
			b.WriteString("] ")
		case pdfDict:
			b.WriteString("<< ")
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, string(k))
			}
			sort.Strings(keys)
			for _, k := range keys {
				w(pdfName(k))
				w(x[pdfName(k)])
			}
			b.WriteString(">> ")
		}
	}
	w(v)
	return b.Bytes()
}
