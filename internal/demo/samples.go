package demo

//go:generate go test -count=1 -run ^TestSamplesAreCurrent$ . -args -update

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// Sample files for people to drop into the demo's folders. They are generated, not
// photographed, so the repository holds no third-party or patient images; the
// end-to-end test makes larger ones from the same functions.

// ExifMarker is written into the phone photo's EXIF Make field: finding it in a
// stored document means metadata leaked through.
const ExifMarker = "ClinicProDemoPhone"

// Upright colours of the quadrants every generated image shows when it is the
// right way up: red top-left, green top-right, blue along the bottom.
var (
	TopLeft  = color.RGBA{220, 30, 30, 255}
	TopRight = color.RGBA{30, 180, 60, 255}
	Bottom   = color.RGBA{30, 60, 220, 255}
)

// uprightAt is the colour of the upright picture at (x, y) in a w×h frame, with a
// little deterministic grain so a JPEG of it is photo-sized rather than trivial.
func uprightAt(x, y, w, h int, grain uint32) color.RGBA {
	c := Bottom
	if y < h/2 {
		c = TopLeft
		if x >= w/2 {
			c = TopRight
		}
	}
	if grain > 0 {
		// A cheap hash of the position, so each run makes identical bytes.
		v := uint32(x)*2654435761 ^ uint32(y)*40503
		v ^= v >> 13
		d := int(v%(2*grain+1)) - int(grain)
		c.R, c.G, c.B = clamp(int(c.R)+d), clamp(int(c.G)+d), clamp(int(c.B)+d)
	}
	return c
}

func clamp(v int) uint8 { return uint8(max(0, min(255, v))) }

// PhonePhoto is a w×h (portrait, as the phone displays it) JPEG whose pixels are
// stored sideways with EXIF orientation 6, as phones write them, plus a GPS block
// and ExifMarker that conversion must drop.
func PhonePhoto(w, h int, grain uint32, quality int) ([]byte, error) {
	// Stored landscape: rotating it 90° clockwise (orientation 6) shows it upright,
	// so stored (sx, sy) holds upright (h_s-1-sy, sx) where h_s = w.
	img := image.NewRGBA(image.Rect(0, 0, h, w))
	for sy := 0; sy < w; sy++ {
		for sx := 0; sx < h; sx++ {
			img.SetRGBA(sx, sy, uprightAt(w-1-sy, sx, w, h, grain))
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	raw := b.Bytes()
	app1 := exifOrientation6()
	out := make([]byte, 0, len(raw)+len(app1)+4)
	out = append(out, raw[:2]...) // SOI
	out = append(out, 0xFF, 0xE1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(app1)+2))
	out = append(out, app1...)
	return append(out, raw[2:]...), nil
}

// exifOrientation6 is an APP1 payload: IFD0 with Make, Orientation=6 and a GPS
// pointer, and a one-entry GPS IFD.
func exifOrientation6() []byte {
	be := binary.BigEndian
	t := []byte("MM\x00\x2a\x00\x00\x00\x08")
	entry := func(tag, typ uint16, count uint32, val []byte) {
		t = be.AppendUint16(t, tag)
		t = be.AppendUint16(t, typ)
		t = be.AppendUint32(t, count)
		t = append(t, val...)
	}
	makeStr := ExifMarker + "\x00"
	const ifd0Len = 2 + 3*12 + 4
	makeOff := 8 + ifd0Len
	gpsOff := makeOff + len(makeStr)
	gpsOff += gpsOff % 2 // IFDs start on a word boundary
	t = be.AppendUint16(t, 3)
	entry(0x010F, 2, uint32(len(makeStr)), be.AppendUint32(nil, uint32(makeOff)))
	entry(0x0112, 3, 1, []byte{0, 6, 0, 0})
	entry(0x8825, 4, 1, be.AppendUint32(nil, uint32(gpsOff)))
	t = be.AppendUint32(t, 0)
	t = append(t, makeStr...)
	for len(t) < gpsOff {
		t = append(t, 0)
	}
	t = be.AppendUint16(t, 1)
	entry(0x0000, 1, 4, []byte{2, 2, 0, 0}) // GPSVersionID
	t = be.AppendUint32(t, 0)
	return append([]byte("Exif\x00\x00"), t...)
}

// PNGImage is a w×h upright RGB PNG.
func PNGImage(w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, uprightAt(x, y, w, h, 0))
		}
	}
	var b bytes.Buffer
	err := png.Encode(&b, img)
	return b.Bytes(), err
}

// A4Scan is a grey A4 page at dpi as a flatbed scanner saves it: white, a black
// letterhead band across the top (which says which way is up) and lines of "text".
func A4Scan(dpi int) ([]byte, error) {
	w, h := dpi*210*10/254, dpi*297*10/254
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xF4
	}
	fill := func(x0, y0, x1, y1 int, v uint8) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				img.Pix[y*img.Stride+x] = v
			}
		}
	}
	margin := w / 10
	fill(margin, h/20, w-margin, h/10, 0x10)
	line := h / 50
	for y, n := h/6, 0; y+line < h-h/10; y, n = y+2*line, n+1 {
		fill(margin, y, w-margin-(n%5)*w/12, y+line/2, 0x30)
	}
	var b bytes.Buffer
	err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img)
	return b.Bytes(), err
}

// PDF is a minimal valid PDF with the given number of A4 pages, each drawing its
// page number as strokes (no fonts, so any reader renders it).
func PDF(pages int) []byte {
	var objs []string
	objs = append(objs, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := ""
	for i := 0; i < pages; i++ {
		kids += fmt.Sprintf("%d 0 R ", 3+2*i)
	}
	objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, pages))
	for i := 0; i < pages; i++ {
		var s bytes.Buffer
		s.WriteString("4 w 72 770 m 523 770 l S\n")
		for j := 0; j <= i; j++ {
			fmt.Fprintf(&s, "%d 700 m %d 650 l S\n", 90+20*j, 90+20*j)
		}
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Resources << >> >>", 4+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", s.Len(), s.String()))
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// Samples are the files shipped in demo/samples, by file name. Names carrying the
// canonical test NHI route by name; the scan has none and waits in Unassigned; the
// last one's NHI fails its check character on purpose.
func Samples() (map[string][]byte, error) {
	photo, err := PhonePhoto(600, 800, 6, 80)
	if err != nil {
		return nil, err
	}
	bad, err := PhonePhoto(300, 400, 0, 80)
	if err != nil {
		return nil, err
	}
	pngb, err := PNGImage(640, 480)
	if err != nil {
		return nil, err
	}
	scan, err := A4Scan(150)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		"ZZZ0016 wound phone photo.jpg": photo,
		"ZZZ0016 rash.png":              pngb,
		"ZZZ0016 referral 2 pages.pdf":  PDF(2),
		"scan A4.png":                   scan,
		"ZZZ0017 typo in NHI.jpg":       bad,
	}, nil
}

// CheckUpright says whether img shows the generated quadrants the right way up: it
// is how the end-to-end test knows a stored photo was not left sideways or mirrored.
func CheckUpright(img image.Image) error {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	at := func(fx, fy float64) color.RGBA {
		r, g, bl, _ := img.At(b.Min.X+int(fx*float64(w)), b.Min.Y+int(fy*float64(h))).RGBA()
		return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}
	}
	for _, p := range []struct {
		fx, fy float64
		want   color.RGBA
		where  string
	}{{0.25, 0.25, TopLeft, "top left"}, {0.75, 0.25, TopRight, "top right"}, {0.5, 0.75, Bottom, "bottom"}} {
		if got := at(p.fx, p.fy); !near(got, p.want) {
			return fmt.Errorf("the %s of the %dx%d image is %v, want about %v: it is rotated or mirrored", p.where, w, h, got, p.want)
		}
	}
	return nil
}

// CheckScanUpright says whether a generated A4 scan has its letterhead band at the top.
func CheckScanUpright(img image.Image) error {
	b := img.Bounds()
	if b.Dy() <= b.Dx() {
		return fmt.Errorf("the scan is %dx%d: an A4 page should be portrait", b.Dx(), b.Dy())
	}
	lum := func(fy float64) uint32 {
		r, g, bl, _ := img.At(b.Min.X+b.Dx()/2, b.Min.Y+int(fy*float64(b.Dy()))).RGBA()
		return (r + g + bl) / 3 >> 8
	}
	if top, foot := lum(0.075), lum(0.97); top > 0x60 || foot < 0xC0 {
		return fmt.Errorf("the scan's letterhead is not at the top (top %d, foot %d): it is upside down", top, foot)
	}
	return nil
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return d(a.R, b.R) < 48 && d(a.G, b.G) < 48 && d(a.B, b.B) < 48
}
