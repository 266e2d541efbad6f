package hostile

import (
	"bytes"
	"compress/zlib"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/image/tiff"
)

// Each generated file is what its case says it is: the bombs claim their sizes in
// valid headers, the PDFs carry the active content, the names are as hostile as
// claimed.
func TestCorpusIsWhatItClaims(t *testing.T) {
	cfg := func(name string, dec func([]byte) (image.Config, error), b []byte, w, h int) {
		t.Helper()
		c, err := dec(b)
		if err != nil || c.Width != w || c.Height != h {
			t.Errorf("%s: %dx%d %v", name, c.Width, c.Height, err)
		}
	}
	pngCfg := func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
	jpegCfg := func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
	tiffCfg := func(b []byte) (image.Config, error) { return tiff.DecodeConfig(bytes.NewReader(b)) }

	bomb := PNGBomb()
	cfg("png bomb", pngCfg, bomb, 10000, 10000)
	if len(bomb) > 1<<20 {
		t.Errorf("png bomb is %d bytes", len(bomb))
	}
	prog := ProgressiveJPEGBomb()
	cfg("progressive jpeg", jpegCfg, prog, 10000, 10000)
	if len(prog) != 282 {
		t.Errorf("progressive jpeg is %d bytes", len(prog))
	}
	cfg("huge tiff", tiffCfg, TIFFHuge(), 60000, 60000)
	pages := TIFFPages()
	cfg("60-page tiff", tiffCfg, pages, 5000, 5000)
	if n := bytes.Count(pages, []byte{254, 0, 4, 0, 1, 0, 0, 0, 2, 0, 0, 0}); n != 60 {
		t.Errorf("the multi-page tiff has %d pages", n)
	}
	// The first page really decodes (the strip is valid Deflate of the whole page).
	if img, err := tiff.Decode(bytes.NewReader(pages)); err != nil || img.Bounds().Dx() != 5000 {
		t.Errorf("first page: %v", err)
	}

	for _, c := range []struct {
		name string
		b    []byte
		want []string
	}{
		{"javascript", PDFJavaScript(), []string{"/JavaScript", "/JS"}},
		{"openaction", PDFOpenAction(), []string{"/OpenAction", "/JavaScript"}},
		{"launch", PDFLaunch(), []string{"/Launch", "cmd.exe"}},
		{"embedded", PDFEmbedded(), []string{"/EmbeddedFile", "MZ"}},
		{"polyglot", PDFPolyglot(), []string{"<script>", "<html>"}},
	} {
		s := string(c.b)
		if !strings.HasPrefix(s, "%PDF-") || !strings.Contains(s, "%%EOF") {
			t.Errorf("%s: not shaped as a PDF", c.name)
		}
		for _, w := range c.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s lacks %s", c.name, w)
			}
		}
	}
	if n := len(PDFPolyglot()); n != 173 {
		t.Errorf("polyglot is %d bytes", n)
	}
	if !bytes.Contains(Secret(), []byte(Marker)) {
		t.Error("the outside file does not carry the marker")
	}
	if _, err := jpeg.Decode(bytes.NewReader(Secret())); err != nil {
		t.Errorf("the outside file is not a valid JPEG, so it would not show a leak: %v", err)
	}
}

func TestCaseNames(t *testing.T) {
	seen := map[string]bool{}
	var n242, bad, ctl, bidi bool
	for _, c := range Cases() {
		if seen[c.ID] || seen[c.Name] {
			t.Errorf("%s: duplicate", c.ID)
		}
		seen[c.ID], seen[c.Name] = true, true
		if !strings.HasPrefix(c.Name, "ZZZ0016") && !strings.HasPrefix(c.Name, "ZZZ0024") {
			t.Errorf("%s: %q does not route to a test patient", c.ID, c.Name)
		}
		if c.Threat == "" || (c.Kind == File) != (c.Data != nil) {
			t.Errorf("%s: incomplete", c.ID)
		}
		n242 = n242 || utf8.RuneCountInString(c.Name) == 242
		bad = bad || !utf8.ValidString(c.Name)
		ctl = ctl || strings.ContainsAny(c.Name, "\a\x1b\x7f")
		bidi = bidi || strings.ContainsRune(c.Name, '\u202e')
	}
	if !n242 || !bad || !ctl || !bidi {
		t.Errorf("names: 242=%v invalid=%v control=%v bidi=%v", n242, bad, ctl, bidi)
	}
}

// The shortcut that builds the PNG bomb's pixel stream is a valid zlib stream of
// exactly that many zeros (the reader checks the Adler-32 too).
func TestZlibZeros(t *testing.T) {
	for _, n := range []int{0, 1, 4 << 20, 3*(4<<20) + 12345} {
		r, err := zlib.NewReader(bytes.NewReader(zlibZeros(n)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil || len(b) != n || bytes.Count(b, []byte{0}) != n {
			t.Fatalf("%d zeros: got %d bytes, %v", n, len(b), err)
		}
	}
}
