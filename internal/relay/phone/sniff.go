package phone

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	_ "image/jpeg" // DecodeConfig
	_ "image/png"
	"strings"
)

// The refusals a phone shows (Sentence makes each a sentence), saying what to do.
var (
	ErrNotPhoto = errors.New("this file is not a photo: only photos (JPEG or PNG) can be sent from this page; take or choose a photo instead")
	// ErrCameraData: the page's re-encode drops EXIF and location, so a photo that
	// still has them did not come through the page's Send.
	ErrCameraData = errors.New("this photo still carries the camera's data (EXIF or location): send it with this page's Send button, which removes it")
	ErrTooBig     = errors.New("this photo is larger than 25 MB: take it again at a lower resolution")
)

// Sentence is err's text as a sentence for a person.
func Sentence(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// MaxEdge bounds either side of a photo the relay takes; the page scales to at
// most 4032 px on the long edge, so anything much larger did not come from it.
const MaxEdge = 8192

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// CheckHead sniffs a photo's first piece and returns its content type. It must be a
// JPEG or PNG whose header, up to the image data, is in head; its size plausible;
// and it must carry no EXIF or XMP (JPEG APP1) or text and EXIF chunks (PNG).
func CheckHead(head []byte) (string, error) {
	switch {
	case bytes.HasPrefix(head, jpegMagic):
		if err := jpegClean(head); err != nil {
			return "", err
		}
		if err := sizeOK(head); err != nil {
			return "", err
		}
		return "image/jpeg", nil
	case bytes.HasPrefix(head, pngMagic):
		if err := pngClean(head); err != nil {
			return "", err
		}
		if err := sizeOK(head); err != nil {
			return "", err
		}
		return "image/png", nil
	}
	return "", ErrNotPhoto
}

func sizeOK(head []byte) error {
	c, _, err := image.DecodeConfig(bytes.NewReader(head))
	if err != nil || c.Width < 1 || c.Height < 1 || c.Width > MaxEdge || c.Height > MaxEdge {
		return ErrNotPhoto
	}
	return nil
}

// jpegClean walks the markers before the first scan.
func jpegClean(b []byte) error {
	i := 2
	for {
		if i+2 > len(b) || b[i] != 0xFF {
			return ErrNotPhoto
		}
		m := b[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			i += 2
			continue
		case m == 0xDA: // start of scan: the header is over
			return nil
		case m == 0xD8 || m == 0xD9:
			return ErrNotPhoto
		}
		if i+4 > len(b) {
			return ErrNotPhoto
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return ErrNotPhoto
		}
		seg := b[i+4 : i+2+n]
		if m == 0xE1 && (bytes.HasPrefix(seg, []byte("Exif\x00")) || bytes.HasPrefix(seg, []byte("http://ns.adobe.com/xap/"))) {
			return ErrCameraData
		}
		i += 2 + n
	}
}

// pngClean walks the chunks before the image data.
func pngClean(b []byte) error {
	i := len(pngMagic)
	for {
		if i+8 > len(b) {
			return ErrNotPhoto
		}
		n := int64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		switch typ {
		case "IDAT":
			return nil
		case "eXIf", "tEXt", "zTXt", "iTXt":
			return ErrCameraData
		}
		next := int64(i) + 12 + n
		if n > 1<<24 || next > int64(len(b)) {
			return ErrNotPhoto
		}
		i = int(next)
	}
}
