package imaging

import (
	"bytes"
	"encoding/binary"
)

// orientationOf is orientation for one input; a page of a multi-page TIFF
// reads its own directory.
func orientationOf(in input) int {
	if in.t == TypeHEIC {
		return 1 // the operating system's decoder hands it over upright
	}
	if in.t == TypeTIFF && in.ifd != 0 {
		if o, ok := tiffOrientationAt(in.b, int64(in.ifd)); ok {
			return o
		}
		return 1
	}
	return orientation(in.t, in.b)
}

// orientation returns the EXIF orientation (1..8) stored in b, or 1 when
// there is none or it is unreadable: a bad EXIF block must never stop a photo
// from being sent, it just stays as the camera wrote it.
func orientation(t Type, b []byte) int {
	if o, ok := tiffOrientation(exifBlock(t, b)); ok {
		return o
	}
	return 1
}

// exifBlock returns the TIFF structure that holds a file's EXIF tags, or nil.
func exifBlock(t Type, b []byte) []byte {
	switch t {
	case TypeJPEG:
		return jpegExif(b)
	case TypeTIFF:
		return b
	case TypePNG:
		return pngChunk(b, "eXIf")
	case TypeWebP:
		// Some writers keep the JPEG-style prefix inside the chunk.
		return bytes.TrimPrefix(webpChunk(b, "EXIF"), []byte("Exif\x00\x00"))
	}
	return nil
}

// jpegExif walks the marker segments up to the first scan and returns the
// TIFF structure inside the APP1 "Exif" segment.
func jpegExif(b []byte) []byte {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return nil
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			i += 2
			continue
		}
		if m == 0xDA || m == 0xD9 { // start of scan / end: no EXIF after this
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if m == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// tiffOrientation reads tag 274 from IFD0 of a TIFF structure (EXIF is one).
func tiffOrientation(t []byte) (int, bool) {
	if len(t) < 8 {
		return 0, false
	}
	bo := tiffByteOrder(t)
	if bo == nil {
		return 0, false
	}
	return tiffOrientationAt(t, int64(bo.Uint32(t[4:8])))
}

// tiffOrientationAt reads tag 274 from the directory at off.
func tiffOrientationAt(t []byte, off int64) (int, bool) {
	bo := tiffByteOrder(t)
	if bo == nil || off < 8 || off+2 > int64(len(t)) {
		return 0, false
	}
	n := int64(bo.Uint16(t[off:]))
	for k := int64(0); k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > int64(len(t)) {
			return 0, false
		}
		if bo.Uint16(t[e:]) != 274 {
			continue
		}
		typ, count := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if typ != 3 || count != 1 { // SHORT, one value; anything else is malformed
			return 0, false
		}
		v := int(bo.Uint16(t[e+8:]))
		if v < 1 || v > 8 {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// tiffByteOrder reads a TIFF header's byte order, nil if it is not one.
func tiffByteOrder(t []byte) binary.ByteOrder {
	if len(t) < 8 {
		return nil
	}
	switch string(t[:4]) {
	case "II*\x00":
		return binary.LittleEndian
	case "MM\x00*":
		return binary.BigEndian
	}
	return nil
}

func pngChunk(b []byte, name string) []byte {
	i := 8
	for i+12 <= len(b) {
		n := int(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		if n < 0 || n > len(b)-i-12 {
			return nil
		}
		if typ == name {
			return b[i+8 : i+8+n]
		}
		if typ == "IDAT" && name == "eXIf" {
			// eXIf must precede IDAT; stop rather than walk megabytes of pixels.
			return nil
		}
		i += 12 + n
	}
	return nil
}

func webpChunk(b []byte, name string) []byte {
	i := 12
	for i+8 <= len(b) {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if n < 0 || n > len(b)-i-8 {
			return nil
		}
		if string(b[i:i+4]) == name {
			return b[i+8 : i+8+n]
		}
		i += 8 + n + n&1
	}
	return nil
}
