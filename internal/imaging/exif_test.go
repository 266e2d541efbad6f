package imaging

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image/png"
	"testing"

	"golang.org/x/image/tiff"
)

// exifTIFF returns the TIFF structure inside an APP1 segment from exifAPP1.
func exifTIFF(o int) []byte { return exifAPP1(o, true)[4+6:] }

func TestOrientationFromEveryContainer(t *testing.T) {
	img := photo(32, 24)
	// PNG: an eXIf chunk before IDAT.
	var p bytes.Buffer
	png.Encode(&p, img)
	pb := p.Bytes()
	idat := bytes.Index(pb, []byte("IDAT")) - 4
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(exifTIFF(6))))
	chunk = append(chunk, "eXIf"...)
	chunk = append(chunk, exifTIFF(6)...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	withExif := append(append(append([]byte{}, pb[:idat]...), chunk...), pb[idat:]...)
	if _, err := png.Decode(bytes.NewReader(withExif)); err != nil {
		t.Fatalf("test PNG is invalid: %v", err)
	}
	// WebP: an EXIF chunk after VP8X (the decoder is not needed for this check).
	ex := exifTIFF(3)
	webp := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x08\x00\x00\x00\x1f\x00\x00\x17\x00\x00EXIF")
	webp = binary.LittleEndian.AppendUint32(webp, uint32(len(ex)))
	webp = append(webp, ex...)
	// TIFF: the Orientation tag in IFD0 of the image itself.
	var tb bytes.Buffer
	tiff.Encode(&tb, img, nil)
	if o := orientation(TypeTIFF, tb.Bytes()); o != 1 {
		t.Errorf("TIFF without the tag: %d, want 1", o)
	}
	for _, c := range []struct {
		name string
		t    Type
		b    []byte
		want int
	}{
		{"jpeg", TypeJPEG, jpegWithExif(t, img, 8, true), 8},
		{"jpeg-none", TypeJPEG, jpegWithExif(t, img, 0, false), 1},
		{"png", TypePNG, withExif, 6},
		{"png-none", TypePNG, pb, 1},
		{"webp", TypeWebP, webp, 3},
		{"exif-tiff", TypeTIFF, exifTIFF(5), 5},
		{"bad-value", TypeTIFF, exifTIFF(9), 1},
	} {
		if got := orientation(c.t, c.b); got != c.want {
			t.Errorf("%s: orientation %d, want %d", c.name, got, c.want)
		}
	}
}

func TestTransformsCompose(t *testing.T) {
	// Four clockwise quarter turns are the identity; orientation 6 (needs one
	// clockwise turn) plus three more is a full circle; 8 plus one cancels.
	if !uprightTransform(1, 4).identity() || !uprightTransform(6, 3).identity() || !uprightTransform(8, 1).identity() {
		t.Fatal("quarter turns do not compose")
	}
	if uprightTransform(3, 2) != exifTransforms[1] || uprightTransform(1, -1) != exifTransforms[8] {
		t.Fatal("half and negative turns are wrong")
	}
}

func TestDeflatePageStopsAtLimit(t *testing.T) {
	g := scanImage(600, 850)
	full := deflatePage(g, 8, 150, false, 1<<30)
	if full == nil || len(full.strips) < 2 {
		t.Fatal("want a multi-strip page under a huge limit")
	}
	if p := deflatePage(g, 8, 150, false, full.size()-1); p != nil {
		t.Fatalf("page of %d bytes accepted under a limit of %d", p.size(), full.size()-1)
	}
	if p := deflatePage(g, 8, 150, true, full.size()/4); p != nil {
		t.Fatal("single-strip page accepted over its limit")
	}
	if p := deflatePage(g, 8, 150, false, full.size()); p == nil || p.size() != full.size() {
		t.Fatal("page exactly at the limit refused or changed")
	}
}
