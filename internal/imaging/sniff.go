package imaging

import (
	"bytes"
	"encoding/binary"
)

// Type is a file type recognised from its leading bytes.
type Type int

const (
	TypeUnknown Type = iota
	TypeJPEG
	TypePNG
	TypeGIF
	TypeBMP
	TypeTIFF
	TypeWebP
	TypePDF
	TypeHEIC
)

func (t Type) String() string {
	switch t {
	case TypeJPEG:
		return "JPEG"
	case TypePNG:
		return "PNG"
	case TypeGIF:
		return "GIF"
	case TypeBMP:
		return "BMP"
	case TypeTIFF:
		return "TIFF"
	case TypeWebP:
		return "WebP"
	case TypePDF:
		return "PDF"
	case TypeHEIC:
		return "HEIC"
	}
	return "unknown"
}

// Sniff names the type of b from its content, never from a file name: watched
// folders receive files whose extensions lie (".jpg" HEICs from phone sync).
// It returns an *Error wrapping ErrEmpty for no bytes and ErrUnsupported,
// naming what the file seems to be, for anything we cannot convert. HEIC is
// recognised and returned without error so callers can say something specific.
func Sniff(b []byte) (Type, error) {
	if len(b) == 0 {
		return TypeUnknown, errEmpty()
	}
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return TypeJPEG, nil
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return TypePNG, nil
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return TypeGIF, nil
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return TypeTIFF, nil
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return TypeWebP, nil
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return TypePDF, nil
	case isBMP(b):
		return TypeBMP, nil
	}
	if bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-")) {
		// A PDF reader accepts a header anywhere in the first kilobyte;
		// the PDF checks then refuse what comes before it.
		return TypePDF, nil
	}
	if brand, ok := isoBrand(b); ok {
		switch brand {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return TypeHEIC, nil
		case "avif", "avis":
			return TypeUnknown, errUnsupported("an AVIF image")
		}
		return TypeUnknown, errUnsupported("a video or other media file")
	}
	return TypeUnknown, errUnsupported(describeUnknown(b))
}

// isBMP checks more than "BM" because two ASCII letters alone would match
// plain-text files.
func isBMP(b []byte) bool {
	if len(b) < 18 || b[0] != 'B' || b[1] != 'M' {
		return false
	}
	switch binary.LittleEndian.Uint32(b[14:18]) { // DIB header size
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// isoBrand reads the major brand of an ISO base media file (HEIC, AVIF, MP4, MOV).
func isoBrand(b []byte) (string, bool) {
	if len(b) < 12 || !bytes.Equal(b[4:8], []byte("ftyp")) {
		return "", false
	}
	return string(b[8:12]), true
}

func describeUnknown(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return "a ZIP archive or Office document"
	case len(b) >= 132 && bytes.Equal(b[128:132], []byte("DICM")):
		return "a DICOM medical image"
	case bytes.HasPrefix(b, []byte("8BPS")):
		return "a Photoshop document"
	case bytes.HasPrefix(b, []byte("{\\rtf")):
		return "a Rich Text document"
	case bytes.HasPrefix(b, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return "an old-style Office document"
	}
	return "not a recognised image or PDF"
}
