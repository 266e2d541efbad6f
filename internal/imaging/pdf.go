package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"regexp"
	"strconv"
)

// writePDF puts one image per page, the page sized so the image prints at its
// dpi. JPEG pages embed the bytes as DCTDecode (no recompression; the bytes
// are our own re-encode, so they carry no EXIF); document pages embed the zlib
// stream as FlateDecode gray or 1-bit. A writer of our own is ~60 lines; the
// libraries judged (pdfcpu, fpdf, gopdf) would add dependencies to do the same
// and pass camera EXIF through when given original files.
func writePDF(pages []*page) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(body string, stream []byte) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s", len(offsets), body)
		if stream != nil {
			b.WriteString("\nstream\n")
			b.Write(stream)
			b.WriteString("\nendstream")
		}
		b.WriteString("\nendobj\n")
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	kids := ""
	for i := range pages {
		kids += fmt.Sprintf("%d 0 R ", 3+3*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, len(pages)), nil)
	for i, p := range pages {
		wpt := float64(p.w) * 72 / float64(max(1, p.dpi))
		hpt := float64(p.h) * 72 / float64(max(1, p.dpi))
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>",
			wpt, hpt, 4+3*i, 5+3*i), nil)
		cs, filter, data := "/DeviceGray", "/FlateDecode", []byte(nil)
		if p.jpeg != nil {
			filter, data = "/DCTDecode", p.jpeg
			if p.samples == 3 {
				cs = "/DeviceRGB"
			}
		} else {
			data = p.strips[0]
		}
		bpc := p.bits
		obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d /Filter %s /Length %d >>",
			p.w, p.h, cs, bpc, filter, len(data)), data)
		content := fmt.Sprintf("q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q", wpt, hpt)
		obj(fmt.Sprintf("<< /Length %d >>", len(content)), []byte(content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

var reImage = regexp.MustCompile(`/Subtype /Image /Width (\d+) /Height (\d+) /ColorSpace /Device(RGB|Gray) /BitsPerComponent (\d+) /Filter /(DCT|Flate)Decode /Length (\d+) >>\nstream\n`)

// decodeOwnPDF re-reads a PDF written by writePDF: structure, xref offsets,
// and every image stream decoded.
func decodeOwnPDF(b []byte) ([]image.Image, error) { return decodeOwnPDFAt(b, 1) }

// decodeOwnPDFAt is decodeOwnPDF with JPEG images decoded at 1/scale.
func decodeOwnPDFAt(b []byte, scale int) ([]image.Image, error) {
	doc, err := parsePDF(b)
	if err != nil {
		return nil, err
	}
	pdfPages, err := doc.pages()
	if err != nil {
		return nil, err
	}
	n := len(pdfPages)
	// Every xref entry must point at its object.
	xi := bytes.LastIndex(b, []byte("\nxref\n"))
	if xi < 0 {
		return nil, errors.New("pdf: no xref table")
	}
	var num, cnt int
	rest := b[xi+6:]
	if _, err := fmt.Sscanf(string(rest[:min(len(rest), 40)]), "%d %d", &num, &cnt); err != nil || cnt < 1 {
		return nil, errors.New("pdf: bad xref header")
	}
	rest = rest[bytes.IndexByte(rest, '\n')+1:]
	if len(rest) < 20*cnt {
		return nil, errors.New("pdf: short xref")
	}
	for k := 1; k < cnt; k++ {
		off, err := strconv.Atoi(string(rest[20*k : 20*k+10]))
		if err != nil || off >= len(b) || !bytes.HasPrefix(b[off:], []byte(strconv.Itoa(k)+" 0 obj")) {
			return nil, fmt.Errorf("pdf: xref entry %d is wrong", k)
		}
	}
	var pages []image.Image
	for _, m := range reImage.FindAllSubmatchIndex(b, -1) {
		atoi := func(i int) int { v, _ := strconv.Atoi(string(b[m[2*i]:m[2*i+1]])); return v }
		w, h, bpc, length := atoi(1), atoi(2), atoi(4), atoi(6)
		if w <= 0 || h <= 0 || w*h > maxReadBackPixels {
			return nil, errors.New("pdf: bad image size")
		}
		gray := string(b[m[6]:m[7]]) == "Gray"
		data := b[m[1]:min(len(b), m[1]+length)]
		if len(data) != length || !bytes.HasPrefix(b[m[1]+length:], []byte("\nendstream")) {
			return nil, errors.New("pdf: image stream length is wrong")
		}
		var img image.Image
		if string(b[m[10]:m[11]]) == "DCT" {
			img, err = decodeJPEGSized(data, w, h, scale)
			if err != nil {
				return nil, err
			}
			if _, isGray := img.(*image.Gray); isGray != gray {
				return nil, errors.New("pdf: colour space does not match the JPEG")
			}
		} else {
			if !gray || (bpc != 1 && bpc != 8) {
				return nil, errors.New("pdf: unexpected Flate image layout")
			}
			if uint64(len(data))*1032 < uint64((w*bpc+7)/8)*uint64(h) {
				return nil, errors.New("pdf: image stream too small for its size")
			}
			g := image.NewGray(image.Rect(0, 0, w, h))
			if err := inflateRows(g, 0, h, data, bpc); err != nil {
				return nil, err
			}
			img = g
		}
		pages = append(pages, img)
	}
	if len(pages) != n {
		return nil, fmt.Errorf("pdf: %d pages but %d images", n, len(pages))
	}
	return pages, nil
}
