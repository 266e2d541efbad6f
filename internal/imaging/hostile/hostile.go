// Package hostile makes the files that attack internal/imaging: headers that
// claim more pixels than the file holds (decompression bombs) and PDFs that
// carry active content or are also something else (polyglots). The imaging
// tests use them, and `imgconv hostile DIR` writes them out for the agent's
// end-to-end hostile-corpus test. Every file is generated, so the repository
// holds no binary attack samples.
package hostile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/draw"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// PNGClaiming is a PNG whose header claims w x h pixels of the given colour
// type (0 grey, 2 RGB, 6 RGBA) at 8 bits. With full it carries every row
// (all zero, so it stays small: 10000 x 10000 RGBA is about 400 kB), and a
// decoder that trusts it fills the whole image; without, the data ends
// after the first bytes.
func PNGClaiming(w, h uint32, colourType byte, full bool) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, colourType
	chunk("IHDR", ihdr)
	rows := uint32(1)
	if full {
		rows = h
	}
	bpp := map[byte]uint32{0: 1, 2: 3, 4: 2, 6: 4}[colourType]
	chunk("IDAT", zeros(int64(rows)*int64(1+w*bpp)))
	chunk("IEND", nil)
	return b.Bytes()
}

// zeros is n zero bytes as a zlib stream, written directly (one fixed-
// Huffman deflate block: a literal 0, then "copy 258 bytes from 1 back"
// repeated, 13 bits each) because compressing hundreds of megabytes takes
// seconds, and minutes under the race detector.
func zeros(n int64) []byte {
	out := []byte{0x78, 0x01}
	var acc uint64
	nacc := 0
	bits := func(v uint64, k int) { // k bits of v, least significant first
		acc |= v << nacc
		nacc += k
		for nacc >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			nacc -= 8
		}
	}
	code := func(c uint64, k int) { // a Huffman code, most significant bit first
		for i := k - 1; i >= 0; i-- {
			bits(c>>i&1, 1)
		}
	}
	bits(1, 1) // final block
	bits(1, 2) // fixed Huffman codes
	left := n
	if left > 0 {
		code(0x30, 8) // literal 0
		left--
	}
	for ; left >= 258; left -= 258 {
		code(0xC5, 8) // length 258 (code 285)
		code(0, 5)    // distance 1
	}
	for ; left > 0; left-- {
		code(0x30, 8)
	}
	code(0, 7) // end of block
	if nacc > 0 {
		bits(0, 8-nacc)
	}
	// Adler-32 of n zeros: a stays 1, b adds 1 per byte.
	sum := uint32(n%65521)<<16 | 1
	return binary.BigEndian.AppendUint32(out, sum)
}

// ProgressiveJPEGClaiming is a 282-byte progressive JPEG whose frame header
// claims w x h with comps components (4:2:0 when 3). For one component it
// is complete: one AC scan whose end-of-band runs cover every block in a
// few bytes, so a decoder that trusts it holds the coefficients of the whole
// image and then renders it (issue 13 measured 402 MB for 10000 x 10000).
func ProgressiveJPEGClaiming(w, h, comps int) []byte {
	b := []byte{0xFF, 0xD8}
	// A quantisation table of ones, and an AC Huffman table whose one
	// code ("0") is EOBRUN 2^14 + 14 extra bits.
	b = append(b, 0xFF, 0xDB, 0, 67, 0)
	for range 64 {
		b = append(b, 1)
	}
	b = append(b, 0xFF, 0xC4, 0, 20, 0x10, 1)
	b = append(b, make([]byte, 15)...)
	b = append(b, 0xE0)
	b = append(b, 0xFF, 0xC2, 0, byte(8+3*comps), 8, byte(h>>8), byte(h), byte(w>>8), byte(w), byte(comps))
	for c := 1; c <= comps; c++ {
		s := byte(0x11)
		if c == 1 && comps == 3 {
			s = 0x22
		}
		b = append(b, byte(c), s, 0)
	}
	// An AC scan (coefficients 1..63) of the first component.
	b = append(b, 0xFF, 0xDA, 0, 8, 1, 1, 0x00, 1, 63, 0)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	var acc uint64
	n := 0
	put := func(v uint64, bits int) {
		acc, n = acc<<bits|v, n+bits
		for n >= 8 {
			c := byte(acc >> (n - 8))
			b = append(b, c)
			if c == 0xFF {
				b = append(b, 0)
			}
			n -= 8
		}
	}
	for ; blocks > 0; blocks -= 32767 {
		put(0, 1)        // EOBRUN of 2^14 ...
		put(1<<14-1, 14) // ... + 16383 blocks
	}
	if n > 0 {
		put(1<<(8-n)-1, 8-n)
	}
	if len(b) > 280 {
		return append(b, 0xFF, 0xD9)
	}
	b = append(b, 0xFF, 0xFE, 0, byte(282-4-len(b))) // a comment pads the file to 282 bytes
	b = append(b, make([]byte, 282-2-len(b))...)
	return append(b, 0xFF, 0xD9)
}

// BaselineJPEGClaiming is ProgressiveJPEGClaiming's header as a baseline frame.
func BaselineJPEGClaiming(w, h int) []byte {
	b := ProgressiveJPEGClaiming(w, h, 3)
	b[3] = 0xC0
	return b
}

// TIFFClaiming is a TIFF of n pages, each claiming w x h grey pixels of bps
// bits in one Deflate strip. With full every page points at one strip that
// inflates to the whole page (zeros); without, at 64 bytes.
func TIFFClaiming(w, h, bps, n int, full bool) []byte {
	const (
		short, long = 3, 4
	)
	le := binary.LittleEndian
	var b bytes.Buffer
	b.Write([]byte("II*\x00"))
	binary.Write(&b, le, uint32(8))
	strip := zeros(64)
	if full {
		strip = zeros(int64(w) * int64(h) * int64(bps) / 8)
	}
	ifdSize := 2 + 12*9 + 4
	dataAt := 8 + n*ifdSize
	for p := 0; p < n; p++ {
		binary.Write(&b, le, uint16(9))
		entry := func(tag, typ uint16, v uint32) {
			binary.Write(&b, le, tag)
			binary.Write(&b, le, typ)
			binary.Write(&b, le, uint32(1))
			if typ == short {
				binary.Write(&b, le, []uint16{uint16(v), 0})
			} else {
				binary.Write(&b, le, v)
			}
		}
		entry(256, long, uint32(w))    // ImageWidth
		entry(257, long, uint32(h))    // ImageLength
		entry(258, short, uint32(bps)) // BitsPerSample
		entry(259, short, 8)           // Compression: Deflate
		entry(262, short, 1)           // BlackIsZero
		entry(273, long, uint32(dataAt))
		entry(277, short, 1) // SamplesPerPixel
		entry(278, long, uint32(h))
		entry(279, long, uint32(len(strip)))
		next := uint32(0)
		if p < n-1 {
			next = uint32(8 + (p+1)*ifdSize)
		}
		binary.Write(&b, le, next)
	}
	b.Write(strip)
	return b.Bytes()
}

// Deflate is zlib at the default level.
func Deflate(b []byte) []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(b)
	w.Close()
	return z.Bytes()
}

// PDF assembles a PDF from object bodies (object i+1 is objs[i]) with a
// correct cross-reference table; trailer is the inside of the trailer
// dictionary.
func PDF(objs []string, trailer string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailer, x)
	return b.Bytes()
}

// Stream is an object body holding data as a stream with the given
// dictionary entries.
func Stream(dict string, data []byte) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// ScanPage draws a clean w x h page of black text on white with scanner
// noise: a 7x13 bitmap font set at a third of the size and enlarged, so
// strokes are about 3 px wide at 300 dpi.
func ScanPage(w, h int) *image.Gray {
	small := image.NewGray(image.Rect(0, 0, w/3, h/3))
	draw.Draw(small, small.Rect, image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: small, Src: image.Black, Face: basicfont.Face7x13}
	line := "Dear Dr TESTING, thank you for seeing this patient with a rash."
	for y := 60; y < small.Rect.Dy()-60; y += 18 {
		d.Dot = fixed.P(50, y)
		d.DrawString(line)
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.Pix[y*g.Stride+x] = small.Pix[min(y/3, small.Rect.Dy()-1)*small.Stride+min(x/3, small.Rect.Dx()-1)]
		}
	}
	// Paper is never exactly 255, which is what makes a grey page expensive
	// and a bilevel one cheap.
	s := uint32(7)
	for i, v := range g.Pix {
		s = s*1664525 + 1013904223
		n := uint8(s >> 29) // 0..7
		if v > 127 {
			g.Pix[i] = v - n
		} else {
			g.Pix[i] = v + n
		}
	}
	return g
}

// ScannedPDF is a one-page PDF as a scanner writes it: a Flate grey page
// image (620 x 877) across an A4 page; catalog and page are extra entries
// for the catalog and page dictionaries.
func ScannedPDF(catalog, page string) []byte {
	img := Stream("/Type /XObject /Subtype /Image /Width 620 /Height 877 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", scannedPage())
	content := Stream("", []byte("q 595.28 0 0 841.89 0 0 cm /Im1 Do Q"))
	return PDF([]string{
		"<< /Type /Catalog /Pages 2 0 R " + catalog + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R " + page + " >>",
		img, content,
	}, "/Root 1 0 R")
}

var scannedPage = sync.OnceValue(func() []byte { return Deflate(ScanPage(620, 877).Pix) })

// withAction is a one-page PDF whose catalog opens action object 4.
func withAction(action string) []byte {
	return PDF([]string{
		"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
		action,
	}, "/Root 1 0 R")
}

// Insert splices an extra object body in before the cross-reference table
// of a PDF made by PDF, and rewrites the table so every offset is right.
func Insert(pdf []byte, num int, body string) []byte {
	x := bytes.LastIndex(pdf, []byte("\nxref\n")) + 1
	var b bytes.Buffer
	b.Write(pdf[:x])
	fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", num, body)
	return fixXref(b.Bytes())
}

func fixXref(b []byte) []byte {
	var offs []int
	for n := 1; n <= 200; n++ {
		i := bytes.Index(b, []byte(fmt.Sprintf("\n%d 0 obj", n)))
		if i < 0 {
			offs = append(offs, -1)
			continue
		}
		offs = append(offs, i+1)
	}
	for len(offs) > 0 && offs[len(offs)-1] < 0 {
		offs = offs[:len(offs)-1]
	}
	x := len(b)
	var out bytes.Buffer
	out.Write(b)
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		if o < 0 {
			out.WriteString("0000000000 65535 f \n")
		} else {
			fmt.Fprintf(&out, "%010d 00000 n \n", o)
		}
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, x)
	return out.Bytes()
}

// A File is one member of the hostile corpus.
type File struct {
	Name string // file name, with the extension a sender would use
	Data []byte
	// Refusal is what the converter must do: "decode-budget" (refused from
	// its headers for memory), "pdf-unsafe" (active content or polyglot),
	// "corrupt" (from its headers: a JPEG claiming more blocks than it has
	// bits, or a damaged PDF).
	Refusal string
	Says    string // words the refusal sentence contains
}

// Corpus is every attack on the converter that issue 13 found, plus their
// variants. The bombs are complete files (a decoder that trusts their
// headers really decodes gigabytes), so they take a second or two to make
// the first time.
func Corpus() []File { return corpus() }

var corpus = sync.OnceValue(func() []File {
	bomb := func(name string, b []byte, says string) File { return File{name, b, "decode-budget", says} }
	unsafe := func(name string, b []byte, says string) File { return File{name, b, "pdf-unsafe", says} }
	clean := ScannedPDF("", "")
	hiddenStm := Insert(clean, 6, Stream("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", Deflate([]byte("7 0 << /S /JavaScript /JS (app.alert\\(2\\)) >>"))))
	incremental := append(append([]byte{}, clean...), "1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /F (cmd.exe) >> >>\nendobj\ntrailer\n<< /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"...)
	return []File{
		bomb("bomb-png-10000x10000-rgba.png", PNGClaiming(10000, 10000, 6, true), "10000 x 10000 pixels"),
		bomb("bomb-grey-16bit.tif", TIFFClaiming(10000, 9000, 16, 1, true), "10000 x 9000"),
		bomb("bomb-grey-one-strip.tif", TIFFClaiming(10000, 10000, 8, 1, true), "10000 x 10000"),
		{"bomb-progressive-10000.jpg", ProgressiveJPEGClaiming(10000, 10000, 1), "corrupt", "holds only 282 bytes"},
		bomb("bomb-60-pages-5000.tif", TIFFClaiming(5000, 5000, 8, 60, true), "60-page document"),
		unsafe("pdf-openaction-javascript.pdf", withAction("<< /S /JavaScript /JS (app.alert\\(1\\)) >>"), "JavaScript"),
		unsafe("pdf-launch-cmd.pdf", withAction("<< /S /Launch /Win << /F (cmd.exe) /P (/c calc) >> >>"), "starts a program"),
		unsafe("pdf-openaction-goto.pdf", withAction("<< /S /GoTo /D [3 0 R /Fit] >>"), "runs when it is opened"),
		unsafe("pdf-embedded-exe.pdf", Insert(ScannedPDF("/Names << /EmbeddedFiles << /Names [(a.exe) 6 0 R] >> >>", ""), 6,
			"<< /Type /Filespec /F (a.exe) /EF << /F 7 0 R >> >>"), "embedded file"),
		unsafe("pdf-page-aa.pdf", ScannedPDF("", "/AA << /O << /S /JavaScript /JS (x) >> >>"), "actions that run"),
		unsafe("pdf-richmedia.pdf", ScannedPDF("", "/Annots [<< /Type /Annot /Subtype /RichMedia /Rect [0 0 1 1] >>]"), "Flash or video"),
		unsafe("pdf-xfa.pdf", ScannedPDF("/AcroForm << /Fields [] /XFA 6 0 R >>", ""), "XFA"),
		unsafe("pdf-name-escaped.pdf", ScannedPDF("/Names << /J#61vaScript << /Names [(x) << /S /J#61vaScript /J#53 (x) >>] >> >>", ""), "JavaScript"),
		unsafe("pdf-uri-javascript.pdf", ScannedPDF("", "/Annots [<< /Subtype /Link /A << /S /URI /URI (JavaScript:alert\\(1\\)) >> >>]"), "JavaScript"),
		unsafe("pdf-submitform.pdf", ScannedPDF("", "/Annots [<< /Subtype /Widget /A << /S /SubmitForm /F (http://x) >> >>]"), "sends data"),
		unsafe("pdf-unreferenced-object.pdf", Insert(clean, 99, "<< /S /JavaScript /JS (x) >>"), "JavaScript"),
		unsafe("pdf-in-object-stream.pdf", hiddenStm, "JavaScript"),
		unsafe("pdf-incremental-update.pdf", incremental, "starts a program"),
		unsafe("polyglot-pdf-html.pdf", []byte("%PDF-1.4\n%<html><script>alert(document.domain)</script>\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"), "other data hidden"),
		unsafe("polyglot-html-before.pdf", append([]byte("<html><body><script>x()</script>\n"), clean...), "other data hidden"),
		unsafe("polyglot-exe-before.pdf", append([]byte("MZ\x90\x00 junk junk\n"), clean...), "other data hidden"),
		unsafe("polyglot-zip-after.pdf", append(append([]byte{}, clean...), "PK\x03\x04\x14\x00 a zip archive"...), "other data hidden"),
		unsafe("polyglot-script-after.pdf", append(append([]byte{}, clean...), "<script>alert(1)</script>"...), "other data hidden"),
		unsafe("polyglot-script-in-string.pdf", ScannedPDF("/Title (<script>alert\\(1\\)</script>)", ""), "other data hidden"),
		unsafe("polyglot-svg-in-stream.pdf", Insert(clean, 6, Stream("", []byte("<svg onload=alert(1)>"))), "other data hidden"),
		{"pdf-junk-between-objects.pdf", bytes.Replace(clean, []byte("2 0 obj"), []byte("GARBAGE here\n2 0 obj"), 1), "corrupt", "damaged"},
	}
})
