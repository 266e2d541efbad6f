// Package hostile builds the hostile corpus: the files an attacker (or an accident)
// can drop into a watched folder, each with what the agent must do with it. The
// corpus is generated, not committed: every file is either tiny or compresses to
// almost nothing, so building all of it takes about a second, and a test in
// cmd/clinicpro drops each one into a folder watched by the real agent binary.
//
// Content files are built to be read by naive decoders in full: the PNG and TIFF
// bombs are valid, so a decoder without a budget would allocate every pixel they
// claim.
package hostile

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
)

// Kind is what is put in the folder.
type Kind int

const (
	File       Kind = iota // a regular file with Data
	Symlink                // a symbolic link to a file outside the folder
	FolderLink             // a patient folder that is a link to a folder outside
	FIFO                   // a named pipe
)

// Outcome is how the agent must end with a case.
type Outcome int

const (
	// Refused: never read; the watched folder's health names it with Reason.
	Refused Outcome = iota
	// Parked: taken, and parked with a reason containing Reason; the original stays.
	Parked
	// Sent: sent to Medtech; the original moves to Sent.
	Sent
)

// Case is one entry of the corpus.
type Case struct {
	ID     string // short and stable, for test names and docs
	Name   string // the name dropped into the folder; may hold control characters or invalid UTF-8
	Kind   Kind
	Data   func() []byte // content, for File
	Want   Outcome
	Reason string // expected in the park reason or the folder's health (case-insensitive)
	// Decode marks the decoded-pixel bombs and active PDFs, whose defences are
	// internal/imaging's.
	Decode bool
	Threat string // one line, for docs/security.md
}

// Marker is in every file placed outside the watched folder: it must never reach
// Medtech.
const Marker = "outside-the-watched-folder"

// Cases is the whole corpus, in a stable order.
func Cases() []Case {
	photo := func() []byte { return Photo(1) }
	return []Case{
		{ID: "symlink-outside", Name: "ZZZ0016 link.jpg", Kind: Symlink, Want: Refused, Reason: "symbolic link",
			Threat: "A symbolic link to a file outside the folder (a root-only image)"},
		{ID: "folder-link", Name: "ZZZ0024", Kind: FolderLink, Want: Refused, Reason: "symbolic link",
			Threat: "A patient sub-folder that is a link to an outside folder"},
		{ID: "fifo", Name: "ZZZ0016 pipe.jpg", Kind: FIFO, Want: Refused, Reason: "FIFO",
			Threat: "A FIFO, whose open blocks for ever without O_NONBLOCK"},
		{ID: "png-bomb", Name: "ZZZ0016 bomb.png", Data: PNGBomb, Want: Parked, Decode: true,
			Threat: "A 10000x10000 RGBA PNG that compresses to under 1 MB (400 MB of pixels)"},
		{ID: "tiff-huge", Name: "ZZZ0016 huge.tif", Data: TIFFHuge, Want: Parked, Decode: true,
			Threat: "A small TIFF claiming 60000x60000 pixels"},
		{ID: "jpeg-progressive-bomb", Name: "ZZZ0016 prog.jpg", Data: ProgressiveJPEGBomb, Want: Parked, Decode: true,
			Threat: "A 282-byte progressive JPEG claiming 10000x10000"},
		{ID: "tiff-60-pages", Name: "ZZZ0016 pages.tif", Data: TIFFPages, Want: Parked, Decode: true,
			Threat: "A TIFF of 60 pages of 5000x5000"},
		{ID: "pdf-javascript", Name: "ZZZ0016 js.pdf", Data: PDFJavaScript, Want: Parked, Reason: "JavaScript", Decode: true,
			Threat: "A PDF with document-level /JavaScript"},
		{ID: "pdf-openaction", Name: "ZZZ0016 open.pdf", Data: PDFOpenAction, Want: Parked, Reason: "OpenAction", Decode: true,
			Threat: "A PDF whose /OpenAction runs JavaScript"},
		{ID: "pdf-launch", Name: "ZZZ0016 launch.pdf", Data: PDFLaunch, Want: Parked, Reason: "Launch", Decode: true,
			Threat: "A PDF with a /Launch of cmd.exe"},
		{ID: "pdf-embedded", Name: "ZZZ0016 embedded.pdf", Data: PDFEmbedded, Want: Parked, Reason: "Embedded", Decode: true,
			Threat: "A PDF carrying an /EmbeddedFile (an executable)"},
		{ID: "pdf-html-polyglot", Name: "ZZZ0016 polyglot.pdf", Data: PDFPolyglot, Want: Parked, Decode: true,
			Threat: "A 173-byte PDF/HTML polyglot with <script>"},
		{ID: "name-control", Name: "ZZZ0016 bell\a\x1b[31mred\x7f.jpg", Data: photo, Want: Sent,
			Threat: "A name with control characters and a terminal escape"},
		{ID: "name-bidi", Name: "ZZZ0016 \u202egpj.exe\u202c.jpg", Data: func() []byte { return Photo(2) }, Want: Sent,
			Threat: "A name with bidi overrides (RLO) that disguise the extension"},
		{ID: "name-invalid-utf8", Name: "ZZZ0016 \xff\xfe\xc3(.jpg", Data: func() []byte { return Photo(3) }, Want: Sent,
			Threat: "A name that is not valid UTF-8"},
		{ID: "name-242", Name: "ZZZ0016 " + strings.Repeat("a long name ", 19) + "lo.jpg", Data: func() []byte { return Photo(4) }, Want: Sent,
			Threat: "A 242-character name"},
		{ID: "empty", Name: "ZZZ0016 empty.jpg", Data: func() []byte { return nil }, Want: Parked, Reason: "empty",
			Threat: "An empty file"},
		{ID: "truncated-jpeg", Name: "ZZZ0016 truncated.jpg", Data: func() []byte { b := Photo(5); return b[:len(b)/3] }, Want: Parked, Reason: "cut short",
			Threat: "A JPEG cut short"},
		{ID: "wrong-extension", Name: "ZZZ0016 letter.jpg", Data: func() []byte { return []byte("Dear Doctor, a letter typed in Notepad and saved as .jpg.") }, Want: Parked,
			Threat: "A text file named .jpg"},
		{ID: "image-named-pdf", Name: "ZZZ0016 photo.pdf", Data: func() []byte { return Photo(6) }, Want: Sent,
			Threat: "A JPEG named .pdf (content, not the extension, decides)"},
	}
}

// Write puts c into dir; links point into outside, which Write fills with files
// holding Marker. It returns the path it made.
func Write(dir, outside string, c Case) (string, error) {
	p := filepath.Join(dir, c.Name)
	switch c.Kind {
	case Symlink:
		target := filepath.Join(outside, "secret.jpg")
		if err := os.WriteFile(target, Secret(), 0o600); err != nil {
			return "", err
		}
		return p, os.Symlink(target, p)
	case FolderLink:
		target := filepath.Join(outside, "patient")
		if err := os.MkdirAll(target, 0o700); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(target, "secret.jpg"), Secret(), 0o600); err != nil {
			return "", err
		}
		return p, os.Symlink(target, p)
	case FIFO:
		return p, mkfifo(p)
	}
	return p, os.WriteFile(p, c.Data(), 0o644)
}

// Photo is a small valid JPEG, distinct for each seed.
func Photo(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 160; x++ {
			img.Set(x, y, color.RGBA{uint8(x + seed*40), uint8(y * 2), uint8(seed * 60), 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes()
}

// Secret is a valid JPEG that stands for a file only root may read: its comment
// holds Marker.
func Secret() []byte {
	b := Photo(9)
	com := append([]byte{0xFF, 0xFE, 0, byte(2 + len(Marker))}, Marker...)
	return append(append(append([]byte{}, b[:2]...), com...), b[2:]...)
}

// PNGBomb is a valid 10000x10000 RGBA PNG of zeros: about 400 KB on disk, 400 MB
// decoded.
func PNGBomb() []byte {
	const w, h = 10000, 10000
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	pngChunk(&b, "IHDR", ihdr)
	pngChunk(&b, "IDAT", zlibZeros(h*(1+4*w)))
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

// zlibZeros is a zlib stream of n zero bytes, built without compressing them all:
// deflate blocks made from zeros after zeros are interchangeable, so one
// sync-flushed block of a chunk of zeros is repeated, and only the tail is
// compressed for real. Adler-32 of n zeros is 1 + (n mod 65521) << 16.
func zlibZeros(n int) []byte {
	const chunk = 4 << 20
	var unit bytes.Buffer
	fw, _ := flate.NewWriter(&unit, flate.BestCompression)
	fw.Write(make([]byte, chunk))
	fw.Flush()
	total := n
	var out bytes.Buffer
	out.Write([]byte{0x78, 0xDA}) // zlib header, best compression
	for ; n >= chunk; n -= chunk {
		out.Write(unit.Bytes())
	}
	fw, _ = flate.NewWriter(&out, flate.BestCompression)
	fw.Write(make([]byte, n))
	fw.Close()
	binary.Write(&out, binary.BigEndian, uint32(total%65521)<<16|1)
	return out.Bytes()
}

func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, crc.Sum32())
}

// ProgressiveJPEGBomb is a 282-byte progressive JPEG whose frame claims
// 10000x10000: a decoder that allocates its coefficients from the frame header
// spends hundreds of MB before finding the data is missing.
func ProgressiveJPEGBomb() []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8})
	// DQT: table 0, all ones.
	b.Write([]byte{0xFF, 0xDB, 0x00, 0x43, 0x00})
	b.Write(bytes.Repeat([]byte{1}, 64))
	// SOF2: 8-bit, 10000x10000, one component, 1x1 sampling, table 0.
	b.Write([]byte{0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x27, 0x10, 0x27, 0x10, 0x01, 0x01, 0x11, 0x00})
	// DHT: DC table 0 with one 1-bit code for category 0.
	b.Write([]byte{0xFF, 0xC4, 0x00, 0x14, 0x00, 0x01})
	b.Write(make([]byte, 15))
	b.Write([]byte{0x00})
	// SOS: the DC first scan of the component.
	b.Write([]byte{0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00})
	b.Write([]byte{0x00, 0x00})
	b.Write([]byte{0xFF, 0xD9})
	// A comment segment before the frame brings it to the size that was seen.
	pad := 282 - b.Len() - 4
	com := append([]byte{0xFF, 0xFE, byte((pad + 2) >> 8), byte(pad + 2)}, bytes.Repeat([]byte{'x'}, pad)...)
	out := append(append(append([]byte{}, b.Bytes()[:2]...), com...), b.Bytes()[2:]...)
	return out
}

// TIFFHuge is a small grey TIFF claiming 60000x60000 pixels (3.6 GB decoded).
func TIFFHuge() []byte { return tiffFile(60000, 60000, 1) }

// TIFFPages is a TIFF of 60 pages of 5000x5000 grey (1.5 GB decoded): every page
// shares one Deflate strip of zeros, so the file stays small.
func TIFFPages() []byte { return tiffFile(5000, 5000, 60) }

// tiffFile builds a little-endian 8-bit grey TIFF of pages pages, each one strip, all
// pointing at one zlib strip of w*h zeros (for huge sizes, a short strip: the
// header alone must be refused).
func tiffFile(w, h uint32, pages int) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	n := int(w) * int(h)
	if n > 64<<20 {
		n = 1 << 20
	}
	zero := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(zero))
		zw.Write(zero[:k])
		n -= k
	}
	zw.Close()
	strip := z.Bytes()
	var b bytes.Buffer
	b.Write([]byte{'I', 'I', 42, 0})
	binary.Write(&b, binary.LittleEndian, uint32(8+len(strip)+len(strip)%2))
	b.Write(strip)
	if len(strip)%2 == 1 {
		b.WriteByte(0)
	}
	type entry struct {
		tag, typ uint16
		val      uint32
	}
	for i := range pages {
		es := []entry{
			{254, 4, 2}, // NewSubfileType: a page of a multi-page document
			{256, 4, w}, {257, 4, h}, {258, 3, 8}, {259, 3, 8}, {262, 3, 1},
			{273, 4, 8}, {277, 3, 1}, {278, 4, h}, {279, 4, uint32(len(strip))},
		}
		binary.Write(&b, binary.LittleEndian, uint16(len(es)))
		for _, e := range es {
			binary.Write(&b, binary.LittleEndian, e.tag)
			binary.Write(&b, binary.LittleEndian, e.typ)
			binary.Write(&b, binary.LittleEndian, uint32(1))
			if e.typ == 3 {
				binary.Write(&b, binary.LittleEndian, uint16(e.val))
				binary.Write(&b, binary.LittleEndian, uint16(0))
			} else {
				binary.Write(&b, binary.LittleEndian, e.val)
			}
		}
		next := uint32(0)
		if i < pages-1 {
			next = uint32(b.Len() + 4)
		}
		binary.Write(&b, binary.LittleEndian, next)
	}
	return b.Bytes()
}

// pdf assembles numbered objects into a PDF with a correct cross-reference table.
func pdf(objs ...string) []byte {
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
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

const (
	pages = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
	page  = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"
	text  = "<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 770 Td (Referral) Tj ET\nendstream"
)

// PDFJavaScript has a document-level JavaScript name tree.
func PDFJavaScript() []byte {
	return pdf("<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 5 0 R >> >>", pages, page, text,
		"<< /Names [(run) 6 0 R] >>", "<< /S /JavaScript /JS (app.alert\\('hello'\\);) >>")
}

// PDFOpenAction runs JavaScript when the document opens.
func PDFOpenAction() []byte {
	return pdf("<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>", pages, page, text,
		"<< /S /JavaScript /JS (this.exportDataObject\\({cName: 'x', nLaunch: 2}\\);) >>")
}

// PDFLaunch launches cmd.exe when the document opens.
func PDFLaunch() []byte {
	return pdf("<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>", pages, page, text,
		"<< /S /Launch /Win << /F (cmd.exe) /P (/c calc.exe) >> >>")
}

// PDFEmbedded carries an executable as an embedded file.
func PDFEmbedded() []byte {
	exe := "MZ\x90\x00 this stands for an executable"
	return pdf("<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 5 0 R >> >>", pages, page, text,
		"<< /Names [(invoice.exe) 6 0 R] >>",
		"<< /Type /Filespec /F (invoice.exe) /EF << /F 7 0 R >> >>",
		fmt.Sprintf("<< /Type /EmbeddedFile /Length %d >>\nstream\n%s\nendstream", len(exe), exe))
}

// PDFPolyglot is a 173-byte file that is both a PDF and an HTML page with a script.
func PDFPolyglot() []byte {
	s := "%PDF-1.4\n<html><script>alert(1)</script><!--\n" +
		"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n-->"
	return []byte(s + strings.Repeat(" ", max(0, 173-len(s)-6)) + "%%EOF\n")
}
