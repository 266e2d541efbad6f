package imaging

import (
	"bytes"
	"context"
	"encoding/ascii85"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/imaging/hostile"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

func TestPDFOpenActionDestinationIsNotAnAction(t *testing.T) {
	// Word and most writers set the initial view this way.
	in := hostile.ScannedPDF("/OpenAction [3 0 R /Fit]", "")
	r, err := Convert(context.Background(), in, Options{PDF: PDFPassThrough})
	if err != nil || !bytes.Equal(r.Data, in) {
		t.Fatalf("a destination OpenAction was refused or changed: %v", err)
	}
}

func TestPDFEncryptedRefused(t *testing.T) {
	in := hostile.ScannedPDF("", "")
	in = bytes.Replace(in, []byte("/Root 1 0 R"), []byte("/Root 1 0 R /Encrypt << /Filter /Standard /V 2 >>"), 1)
	_, err := Convert(context.Background(), in, Options{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "password") {
		t.Fatalf("got %v", err)
	}
}

// A scanned page is rebuilt: the output is our own PDF (or TIFF) of the
// page image, not the original bytes.
func TestPDFRebuiltFromPageImage(t *testing.T) {
	in := hostile.ScannedPDF("", "")
	r := convert(t, in, Options{})
	if r.Kind != KindDocument || r.ContentType != "application/pdf" || r.Pages != 1 || bytes.Equal(r.Data, in) {
		t.Fatalf("not rebuilt: kind %v, %s, %d pages", r.Kind, r.ContentType, r.Pages)
	}
	pages := pagesOf(t, r)
	if b := pages[0].Bounds(); b.Dx() != 620 || b.Dy() != 877 {
		t.Fatalf("rebuilt page is %v, want the image's 620x877", b)
	}
	// The page keeps its printed size: 620 px across 595 pt is 75 dpi.
	if !bytes.Contains(r.Data, []byte("/MediaBox [0 0 595.")) {
		t.Errorf("page size not kept:\n%s", r.Data[:min(len(r.Data), 400)])
	}
	t.Run("qpdf", func(t *testing.T) { tool(t, r.Data, ".pdf", "qpdf", "--check") })
	tf := convert(t, in, Options{Format: FormatTIFF})
	if tf.ContentType != "image/tiff" {
		t.Fatalf("Format TIFF gave %s", tf.ContentType)
	}
	// Pass-through keeps the original bytes.
	p := convert(t, in, Options{PDF: PDFPassThrough})
	if p.Kind != KindPDFPassthrough || !bytes.Equal(p.Data, in) {
		t.Fatal("passthrough changed the PDF")
	}
}

// Each way a scanner stores a page image, and each way it is placed.
func TestPDFRebuildImageKinds(t *testing.T) {
	up := photo(240, 180)
	rgb := make([]byte, 0, 240*180*3)
	for i := 0; i < len(up.Pix); i += 4 {
		rgb = append(rgb, up.Pix[i:i+3]...)
	}
	jpg := jpegWithExif(t, up, 0, false)
	// Rows stored sideways (as a camera stores a portrait photo), drawn with a
	// rotating matrix or with the page's /Rotate.
	side := stored(up, 6) // 180 x 240 pixels; upright needs a clockwise turn
	sideJPG := jpegWithExif(t, side, 0, false)
	pngUp := pngPredict(rgb, 240*3)
	page := func(img, cm, extra string) []byte {
		return hostile.PDF([]string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 240 180] /Resources << /XObject << /I 4 0 R >> >> /Contents 5 0 R " + extra + " >>",
			img, hostile.Stream("", []byte("q "+cm+" cm /I Do Q\nBT 3 Tr /F1 12 Tf (invisible OCR text) Tj ET")),
		}, "/Root 1 0 R")
	}
	cases := map[string][]byte{
		"dct":            page(hostile.Stream("/Subtype /Image /Width 240 /Height 180 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", jpg), "240 0 0 180 0 0", ""),
		"flate-rgb":      page(hostile.Stream("/Subtype /Image /Width 240 /Height 180 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode", hostile.Deflate(rgb)), "240 0 0 180 0 0", ""),
		"flate-png-pred": page(hostile.Stream("/Subtype /Image /Width 240 /Height 180 /ColorSpace [/ICCBased 6 0 R] /BitsPerComponent 8 /Filter /FlateDecode /DecodeParms << /Predictor 15 /Colors 3 /Columns 240 >>", hostile.Deflate(pngUp)), "240 0 0 180 0 0", ""),
		"ascii85-flate":  page(hostile.Stream("/Subtype /Image /Width 240 /Height 180 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter [/ASCII85Decode /FlateDecode]", ascii85Of(hostile.Deflate(rgb))), "240 0 0 180 0 0", ""),
		"matrix-rotated": page(hostile.Stream("/Subtype /Image /Width 180 /Height 240 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", sideJPG), "0 -180 240 0 0 180", ""),
		"flipped":        page(hostile.Stream("/Subtype /Image /Width 240 /Height 180 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", jpegWithExif(t, stored(up, 3), 0, false)), "-240 0 0 -180 240 180", ""),
	}
	// The same sideways image on a page whose /Rotate turns it upright.
	rot := hostile.PDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate 90 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 180 240] /Resources << /XObject << /I 4 0 R >> >> /Contents 5 0 R >>",
		hostile.Stream("/Subtype /Image /Width 180 /Height 240 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", sideJPG),
		hostile.Stream("", []byte("q 180 0 0 240 0 0 cm /I Do Q")),
	}, "/Root 1 0 R")
	cases["page-rotate-inherited"] = rot
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if name == "flate-png-pred" {
				in = hostile.Insert(in, 6, hostile.Stream("/N 3", []byte("icc")))
			}
			r := convert(t, in, Options{})
			if r.Kind != KindPhoto || r.Pages != 1 {
				t.Fatalf("kind %v, %d pages", r.Kind, r.Pages)
			}
			pages := pagesOf(t, r)
			if b := pages[0].Bounds(); b.Dx() != 240 || b.Dy() != 180 {
				t.Fatalf("page is %v, want 240x180 upright", b)
			}
			checkUpright(t, pages[0])
		})
	}
}

// pngPredict applies the PNG "Up" filter to rows of n bytes, as PDF
// writers do before Flate.
func pngPredict(b []byte, n int) []byte {
	var out []byte
	prev := make([]byte, n)
	for y := 0; y+n <= len(b); y += n {
		out = append(out, 2)
		for x := 0; x < n; x++ {
			out = append(out, b[y+x]-prev[x])
		}
		prev = b[y : y+n]
	}
	return out
}

func ascii85Of(b []byte) []byte {
	var buf bytes.Buffer
	w := ascii85.NewEncoder(&buf)
	w.Write(b)
	w.Close()
	return append(buf.Bytes(), '~', '>')
}

func TestPDFWithTextIsNotRebuilt(t *testing.T) {
	letter := hostile.PDF([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>",
		hostile.Stream("", []byte("BT /F1 12 Tf 72 760 Td (Dear Doctor) Tj ET 72 700 m 500 700 l S")),
	}, "/Root 1 0 R")
	r := convert(t, letter, Options{})
	if r.Kind != KindPDFPassthrough || !bytes.Equal(r.Data, letter) {
		t.Fatalf("a text PDF should pass through after the checks, got kind %v", r.Kind)
	}
	_, err := Convert(context.Background(), letter, Options{PDF: PDFRebuildOnly})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "visible text") {
		t.Fatalf("rebuild-only: got %v", err)
	}
}

// PDF 1.5+ writers keep the page tree in compressed object streams behind a
// cross-reference stream; qpdf writes such a file from ours.
func TestPDFObjectStreamsRebuilt(t *testing.T) {
	testutil.NeedTool(t, "qpdf", "apt-get install qpdf")
	dir := t.TempDir()
	src := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(src, hostile.ScannedPDF("", ""), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.pdf")
	if b, err := exec.Command("qpdf", "--object-streams=generate", "--compress-streams=y", src, out).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v %s", err, b)
	}
	in, _ := os.ReadFile(out)
	if !bytes.Contains(in, []byte("/ObjStm")) || !bytes.Contains(in, []byte("/XRef")) {
		t.Fatal("qpdf did not write object streams")
	}
	r := convert(t, in, Options{})
	if r.Kind != KindDocument || r.Pages != 1 {
		t.Fatalf("kind %v pages %d", r.Kind, r.Pages)
	}
}

// tiff2pdf writes a bilevel page as CCITT G4, the commonest scanner layout
// for black-and-white PDFs.
func TestPDFCCITTPageRebuilt(t *testing.T) {
	testutil.NeedTool(t, "tiff2pdf", "apt-get install libtiff-tools")
	dir := t.TempDir()
	g := bilevel(scanImage(800, 1100))
	tif := filepath.Join(dir, "in.tif")
	if err := os.WriteFile(tif, writeTIFF([]*page{deflatePage(g, 1, 100, false, 1<<30)}), 0o600); err != nil {
		t.Fatal(err)
	}
	g4 := filepath.Join(dir, "g4.tif")
	pdf := filepath.Join(dir, "out.pdf")
	for _, cmd := range [][]string{{"tiffcp", "-c", "g4", tif, g4}, {"tiff2pdf", "-o", pdf, g4}} {
		if b, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", cmd, err, b)
		}
	}
	in, _ := os.ReadFile(pdf)
	if !bytes.Contains(in, []byte("CCITTFaxDecode")) {
		t.Fatal("tiff2pdf did not write CCITT")
	}
	r := convert(t, in, Options{})
	pages := pagesOf(t, r)
	if r.Kind != KindDocument || len(pages) != 1 {
		t.Fatalf("kind %v", r.Kind)
	}
	got := pages[0].(*image.Gray)
	if b := got.Bounds(); b.Dx() != 800 || b.Dy() != 1100 {
		t.Fatalf("page %v", b)
	}
	diff := 0
	for i := range g.Pix {
		if got.Pix[i] != g.Pix[i] {
			diff++
		}
	}
	if diff*1000 > len(g.Pix) {
		t.Fatalf("%d of %d pixels differ after the CCITT round trip", diff, len(g.Pix))
	}
}

func TestPDFPageImageCountsAgainstDecodeBudget(t *testing.T) {
	in := hostile.ScannedPDF("", "")
	_, err := Convert(context.Background(), in, Options{DecodeBudget: 100_000})
	if !errors.Is(err, ErrDecodeBudget) {
		t.Fatalf("got %v", err)
	}
}

// A stream's /Length and its "endstream" keyword must not tell two stories:
// data that hides "endstream endobj" and an object, skipped by a reader
// that trusts /Length and read by one that searches, is refused; a /Length
// that is merely wrong (writers get it wrong) is tolerated, as readers do.
func TestPDFStreamLengths(t *testing.T) {
	hidden := []byte("q Q\nendstream\nendobj\n9 0 obj\n<< /S /JavaScript /JS (x) >>\nendobj\n6 0 obj\n<< >>\nstream\nq Q")
	in := hostile.Insert(hostile.ScannedPDF("", ""), 6, hostile.Stream("", hidden))
	if _, err := Convert(context.Background(), in, Options{PDF: PDFPassThrough}); !errors.Is(err, ErrPDFUnsafe) {
		t.Fatalf("hidden second end: got %v", err)
	}
	for _, delta := range []int{-3, 5} {
		body := strings.Replace(hostile.Stream("", []byte("q Q % a comment")), "/Length 15", fmt.Sprintf("/Length %d", 15+delta), 1)
		in := hostile.Insert(hostile.ScannedPDF("", ""), 6, body)
		if _, err := Convert(context.Background(), in, Options{PDF: PDFPassThrough}); err != nil {
			t.Errorf("/Length off by %d: %v", delta, err)
		}
	}
}
