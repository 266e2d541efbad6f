package imaging

import (
	"strings"
	"time"
)

// EXIF tags read for the date a photo was taken.
const (
	tagExifIFD            = 0x8769 // IFD0: offset of the Exif directory
	tagDateTimeOriginal   = 0x9003 // Exif: "YYYY:MM:DD HH:MM:SS"
	tagOffsetTimeOriginal = 0x9011 // Exif 2.31: "+13:00"
)

// TakenAt returns when a photo was taken, from its EXIF DateTimeOriginal: with the
// camera's OffsetTimeOriginal when it wrote one, else in loc (the PC's zone, which is
// the camera's as far as anyone knows). ok is false when the file carries no usable
// date; the caller then uses the file's own time. b needs only the file's first part
// (EXIF sits before the pixels); a bad block is ignored, never an error.
func TakenAt(b []byte, loc *time.Location) (time.Time, bool) {
	t, err := Sniff(b)
	if err != nil {
		return time.Time{}, false
	}
	tiff := exifBlock(t, b)
	bo := tiffByteOrder(tiff)
	if bo == nil {
		return time.Time{}, false
	}
	exif, ok := tiffLong(tiff, int64(bo.Uint32(tiff[4:8])), tagExifIFD)
	if !ok {
		return time.Time{}, false
	}
	when, ok := tiffASCII(tiff, int64(exif), tagDateTimeOriginal)
	if !ok {
		return time.Time{}, false
	}
	if off, ok := tiffASCII(tiff, int64(exif), tagOffsetTimeOriginal); ok {
		if at, err := time.Parse("2006:01:02 15:04:05-07:00", when+off); err == nil && plausible(at) {
			return at, true
		}
	}
	if loc == nil {
		loc = time.Local
	}
	at, err := time.ParseInLocation("2006:01:02 15:04:05", when, loc)
	if err != nil || !plausible(at) {
		return time.Time{}, false
	}
	return at, true
}

// plausible rejects the zero dates some cameras write when their clock was never set.
func plausible(t time.Time) bool { return t.Year() >= 1990 && t.Year() < 2200 }

// tiffEntry returns the type, count and value-or-offset field of tag in the
// directory at off.
func tiffEntry(t []byte, off int64, tag uint16) (typ uint16, count uint32, field int64, ok bool) {
	bo := tiffByteOrder(t)
	if bo == nil || off < 8 || off+2 > int64(len(t)) {
		return 0, 0, 0, false
	}
	n := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 0, 0, 0, false
		}
		if bo.Uint16(t[e:]) == tag {
			return bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:]), e + 8, true
		}
	}
	return 0, 0, 0, false
}

// tiffLong reads a one-value LONG tag.
func tiffLong(t []byte, off int64, tag uint16) (uint32, bool) {
	typ, count, field, ok := tiffEntry(t, off, tag)
	if !ok || typ != 4 || count != 1 {
		return 0, false
	}
	return tiffByteOrder(t).Uint32(t[field:]), true
}

// tiffASCII reads an ASCII tag of at most 64 bytes, without its NUL.
func tiffASCII(t []byte, off int64, tag uint16) (string, bool) {
	typ, count, field, ok := tiffEntry(t, off, tag)
	if !ok || typ != 2 || count == 0 || count > 64 {
		return "", false
	}
	at := field
	if count > 4 {
		at = int64(tiffByteOrder(t).Uint32(t[field:]))
	}
	if at < 0 || at+int64(count) > int64(len(t)) {
		return "", false
	}
	return strings.TrimRight(string(t[at:at+int64(count)]), "\x00 "), true
}
