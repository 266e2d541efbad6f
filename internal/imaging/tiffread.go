package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"

	"github.com/clinicpro/medtech-images/internal/imaging/jpegdec"
	"github.com/klauspost/compress/zlib"
)

// decodeOwnTIFF reads every page of the TIFF layouts writeTIFF produces
// (JPEG-in-TIFF, 8-bit gray or 1-bit Deflate). It exists because neither
// x/image/tiff nor any other pure-Go reader decodes Compression=7, and each
// output is re-decoded before it leaves the package.
func decodeOwnTIFF(b []byte) ([]image.Image, error) { return decodeOwnTIFFAt(b, 1) }

// decodeOwnTIFFAt is decodeOwnTIFF with JPEG pages decoded at 1/scale: the
// read-back check of every conversion decodes at 1/8, which still walks
// every Huffman code of the page but skips the inverse transform.
func decodeOwnTIFFAt(b []byte, scale int) ([]image.Image, error) {
	if len(b) < 8 {
		return nil, errors.New("tiff: short header")
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return nil, errors.New("tiff: bad header")
	}
	var pages []image.Image
	seen := map[uint32]bool{}
	for off := bo.Uint32(b[4:]); off != 0; {
		if seen[off] || len(seen) > 1000 {
			return nil, errors.New("tiff: IFD loop")
		}
		seen[off] = true
		tags, next, err := readIFD(b, bo, off)
		if err != nil {
			return nil, err
		}
		m, err := decodeTIFFPage(b, tags, scale)
		if err != nil {
			return nil, fmt.Errorf("tiff page %d: %w", len(pages)+1, err)
		}
		pages = append(pages, m)
		off = next
	}
	if len(pages) == 0 {
		return nil, errors.New("tiff: no pages")
	}
	return pages, nil
}

// maxReadBackPixels bounds what the read-back check allocates; we never write
// pages larger than A4 at 600 dpi.
const maxReadBackPixels = 40_000_000

func readIFD(b []byte, bo binary.ByteOrder, off uint32) (map[uint16][]uint32, uint32, error) {
	if uint64(off)+2 > uint64(len(b)) {
		return nil, 0, errors.New("tiff: IFD out of range")
	}
	n := int(bo.Uint16(b[off:]))
	end := uint64(off) + 2 + 12*uint64(n) + 4
	if end > uint64(len(b)) {
		return nil, 0, errors.New("tiff: IFD out of range")
	}
	tags := map[uint16][]uint32{}
	for i := 0; i < n; i++ {
		e := b[int(off)+2+12*i:]
		tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), bo.Uint32(e[4:])
		var size uint64
		switch typ {
		case typeShort:
			size = 2
		case typeLong:
			size = 4
		case typeRational:
			size = 8
		default:
			continue // types we never need
		}
		if count > 1<<20 {
			return nil, 0, errors.New("tiff: tag count too large")
		}
		total := size * uint64(count)
		val := e[8:12]
		if total > 4 {
			at := uint64(bo.Uint32(e[8:]))
			if at+total > uint64(len(b)) {
				return nil, 0, errors.New("tiff: tag value out of range")
			}
			val = b[at : at+total]
		}
		vals := make([]uint32, 0, count*uint32(size/2+size/8))
		for k := uint64(0); k < uint64(count); k++ {
			switch typ {
			case typeShort:
				vals = append(vals, uint32(bo.Uint16(val[2*k:])))
			case typeLong:
				vals = append(vals, bo.Uint32(val[4*k:]))
			case typeRational:
				vals = append(vals, bo.Uint32(val[8*k:]), bo.Uint32(val[8*k+4:]))
			}
		}
		tags[tag] = vals
	}
	return tags, bo.Uint32(b[end-4:]), nil
}

func decodeTIFFPage(b []byte, tags map[uint16][]uint32, scale int) (image.Image, error) {
	one := func(tag uint16, def uint32) uint32 {
		if v := tags[tag]; len(v) > 0 {
			return v[0]
		}
		return def
	}
	w, h := int(one(tagImageWidth, 0)), int(one(tagImageLength, 0))
	if w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 || w*h > maxReadBackPixels {
		return nil, errors.New("bad dimensions")
	}
	offs, counts := tags[tagStripOffsets], tags[tagStripByteCounts]
	if len(offs) == 0 || len(offs) != len(counts) {
		return nil, errors.New("bad strips")
	}
	strip := func(i int) ([]byte, error) {
		o, c := uint64(offs[i]), uint64(counts[i])
		if o+c > uint64(len(b)) {
			return nil, errors.New("strip out of range")
		}
		return b[o : o+c], nil
	}
	switch one(tagCompression, 1) {
	case compJPEG:
		if len(offs) != 1 {
			return nil, errors.New("multi-strip JPEG not supported")
		}
		s, err := strip(0)
		if err != nil {
			return nil, err
		}
		m, err := decodeJPEGSized(s, w, h, scale)
		if err != nil {
			return nil, err
		}
		if one(tagPhotometric, 0) == photoYCbCr {
			_, _, _, hs, vs, err := jpegSOF(s)
			sub := tags[tagYCbCrSubSampling]
			if err != nil || len(sub) != 2 || int(sub[0]) != hs || int(sub[1]) != vs || len(tags[tagReferenceBlackWhite]) != 12 {
				return nil, errors.New("YCbCr tags do not match the JPEG stream")
			}
		}
		return m, nil
	case compDeflate:
		bits := int(one(tagBitsPerSample, 1))
		if one(tagSamplesPerPixel, 1) != 1 || (bits != 1 && bits != 8) {
			return nil, errors.New("only 1-sample 1- or 8-bit Deflate pages are read")
		}
		rps := int(one(tagRowsPerStrip, uint32(h)))
		if rps <= 0 || (h+rps-1)/rps != len(offs) {
			return nil, errors.New("strip count does not match rows")
		}
		// Deflate cannot expand more than ~1032:1, so strips that could not
		// hold the page are refused before the page buffer is allocated.
		var total uint64
		for _, c := range counts {
			total += uint64(c)
		}
		if total*1032 < uint64((w*bits+7)/8)*uint64(h) {
			return nil, errors.New("strips too small for the page")
		}
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range offs {
			s, err := strip(i)
			if err != nil {
				return nil, err
			}
			if err := inflateRows(g, i*rps, min(h, (i+1)*rps), s, bits); err != nil {
				return nil, err
			}
		}
		return g, nil
	}
	return nil, errors.New("unsupported compression")
}

// decodeJPEGSized decodes j at 1/scale only if its frame is exactly w x h,
// checked before the decoder allocates anything. At full size it uses
// image/jpeg, a decoder independent of ours.
func decodeJPEGSized(j []byte, w, h, scale int) (image.Image, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	if cfg.Width != w || cfg.Height != h {
		return nil, errors.New("JPEG size differs from its container's")
	}
	if scale == 1 {
		return jpeg.Decode(bytes.NewReader(j))
	}
	m, err := jpegdec.Decode(j, scale)
	if err != nil {
		return nil, err
	}
	if sw, sh := jpegdec.ScaledSize(w, h, scale); m.Bounds().Dx() != sw || m.Bounds().Dy() != sh {
		return nil, errors.New("JPEG decoded at the wrong size")
	}
	return m, nil
}

// inflateRows decodes rows [y0, y1) of g from one zlib stream of packed rows.
func inflateRows(g *image.Gray, y0, y1 int, z []byte, bits int) error {
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return err
	}
	defer zr.Close()
	w := g.Rect.Dx()
	row := make([]byte, (w*bits+7)/8)
	for y := y0; y < y1; y++ {
		if _, err := io.ReadFull(zr, row); err != nil {
			return err
		}
		unpackRow(g.Pix[y*g.Stride:y*g.Stride+w], row, bits)
	}
	return nil
}

func unpackRow(dst, src []byte, bits int) {
	if bits == 8 {
		copy(dst, src)
		return
	}
	for x := range dst {
		if src[x>>3]&(0x80>>(x&7)) != 0 {
			dst[x] = 255
		} else {
			dst[x] = 0
		}
	}
}
