package imaging

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"testing"
	"time"
)

// exifJPEG is a JPEG whose APP1 holds IFD0 -> Exif IFD with DateTimeOriginal and,
// when offset is not "", OffsetTimeOriginal; then the real image.
func exifJPEG(t testing.TB, when, offset string) []byte {
	t.Helper()
	le := binary.LittleEndian
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, le, uint32(8))
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&tiff, le, tag)
		binary.Write(&tiff, le, typ)
		binary.Write(&tiff, le, count)
		binary.Write(&tiff, le, value)
	}
	// IFD0 at 8: one entry, the Exif pointer; the Exif IFD follows at 26.
	binary.Write(&tiff, le, uint16(1))
	entry(tagExifIFD, 4, 1, 26)
	binary.Write(&tiff, le, uint32(0))
	n := uint16(1)
	if offset != "" {
		n = 2
	}
	binary.Write(&tiff, le, n)
	data := uint32(26 + 2 + 12*int(n) + 4)
	entry(tagDateTimeOriginal, 2, uint32(len(when)+1), data)
	if offset != "" {
		entry(tagOffsetTimeOriginal, 2, uint32(len(offset)+1), data+uint32(len(when)+1))
	}
	binary.Write(&tiff, le, uint32(0))
	tiff.WriteString(when + "\x00")
	if offset != "" {
		tiff.WriteString(offset + "\x00")
	}
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out = append(out, payload...)
	return append(out, plainJPEG(t)[2:]...)
}

func plainJPEG(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestTakenAt(t *testing.T) {
	auckland, _ := time.LoadLocation("Pacific/Auckland")
	at, ok := TakenAt(exifJPEG(t, "2026:11:20 14:05:06", "+13:00"), time.UTC)
	if want := time.Date(2026, 11, 20, 1, 5, 6, 0, time.UTC); !ok || !at.Equal(want) {
		t.Fatalf("with the camera's offset: %v %v, want %v", at, ok, want)
	}
	at, ok = TakenAt(exifJPEG(t, "2026:11:20 14:05:06", ""), auckland)
	if want := time.Date(2026, 11, 20, 14, 5, 6, 0, auckland); !ok || !at.Equal(want) {
		t.Fatalf("in the PC's zone: %v %v, want %v", at, ok, want)
	}
	for name, b := range map[string][]byte{
		"never-set clock": exifJPEG(t, "0000:00:00 00:00:00", ""),
		"not a date":      exifJPEG(t, "yesterday", ""),
		"no EXIF":         plainJPEG(t),
		"not an image":    []byte("hello"),
	} {
		if at, ok := TakenAt(b, time.UTC); ok {
			t.Errorf("%s: %v", name, at)
		}
	}
}

// FuzzTakenAt: a photo's EXIF is outside input; no bytes may panic the reader or
// yield an implausible date.
func FuzzTakenAt(f *testing.F) {
	f.Add(exifJPEG(f, "2026:11:20 14:05:06", "+13:00"))
	f.Add(exifJPEG(f, "2026:11:20 14:05:06", ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		if at, ok := TakenAt(b, time.UTC); ok && !plausible(at) {
			t.Fatalf("implausible date %v", at)
		}
	})
}
