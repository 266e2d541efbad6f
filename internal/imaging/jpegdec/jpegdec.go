// Package jpegdec decodes baseline and progressive JPEGs at 1/1, 1/2, 1/4 or
// 1/8 of their size straight from the DCT coefficients, as libjpeg's
// scale_denom does: a reduced inverse DCT turns each 8x8 block into 4x4, 2x2
// or 1x1 pixels, so a photo that will be sent at half its size or less is
// never decoded at full size. It is pure Go (the agent stays a cgo-free
// single binary) and returns the planes as the file holds them: *image.Gray,
// or *image.YCbCr in the file's chroma subsampling.
//
// What it does not handle (12-bit, lossless and arithmetic-coded files,
// CMYK and YCCK, RGB-coded JPEGs and unusual sampling layouts) it reports as
// ErrNotHandled, so a caller can fall back to image/jpeg.
package jpegdec

import (
	"errors"
	"fmt"
	"image"
	"io"
)

// ErrNotHandled marks a valid JPEG variant this package does not decode.
var ErrNotHandled = errors.New("jpegdec: JPEG variant not handled")

// FormatError is a malformed file.
type FormatError string

func (e FormatError) Error() string { return "jpegdec: invalid JPEG: " + string(e) }

// Header is what the frame header and the markers before it say.
type Header struct {
	Width, Height int
	Components    int
	Progressive   bool
	// H and V are each component's sampling factors.
	H, V [4]int
}

// ScaledSize is the size of a w x h image decoded at 1/scale (rounded up,
// as libjpeg does).
func ScaledSize(w, h, scale int) (int, int) {
	return (w + scale - 1) / scale, (h + scale - 1) / scale
}

// ReadHeader reads the markers up to the frame header.
func ReadHeader(b []byte) (Header, error) {
	d := &decoder{b: b}
	if err := d.readMarkers(true); err != nil {
		return Header{}, err
	}
	h := Header{Width: d.w, Height: d.h, Components: len(d.comps), Progressive: d.progressive}
	for i, c := range d.comps {
		h.H[i], h.V[i] = c.h, c.v
	}
	return h, nil
}

// Decode decodes b at 1/scale of its size (scale 1, 2, 4 or 8).
func Decode(b []byte, scale int) (image.Image, error) { return decodeLimited(b, scale, 0) }

// ErrTooLarge is returned when a file's scans need a coefficient store
// larger than decodeLimited's limit.
var ErrTooLarge = errors.New("jpegdec: coefficients over the memory limit")

// decodeLimited is Decode with a bound on the coefficient store: a
// progressive file keeps every coefficient of the image until its last scan
// (int16, 128 bytes a block), and so does a sequential file whose components
// come in separate scans. A single interleaved sequential scan (what cameras
// and phones write) is decoded MCU row by MCU row and needs no store.
func decodeLimited(b []byte, scale int, maxAlloc int64) (image.Image, error) {
	switch scale {
	case 1, 2, 4, 8:
	default:
		return nil, fmt.Errorf("jpegdec: scale %d is not 1, 2, 4 or 8", scale)
	}
	d := &decoder{b: b, scale: scale, maxAlloc: maxAlloc}
	if err := d.readMarkers(false); err != nil {
		return nil, err
	}
	if !d.sawEOI && !d.done() {
		return nil, io.ErrUnexpectedEOF
	}
	return d.image()
}

// component is one colour component of the frame.
type component struct {
	id     byte
	h, v   int // sampling factors
	tq     int // quantisation table
	bw, bh int // blocks across and down, whole MCUs
	// cw, ch are the blocks a non-interleaved scan covers (the component's
	// own size, not padded to MCUs).
	cw, ch int
	coef   []int16 // per block: stride coefficients (see decoder.stride)
	pred   int32   // DC predictor of the current scan
	dcDone bool    // a progressive DC first scan has been read
	td, ta int     // Huffman tables of the current scan
}

type decoder struct {
	b           []byte
	pos         int
	scale       int
	w, h        int
	comps       []component
	hmax, vmax  int
	mcux, mcuy  int
	progressive bool
	sawSOF      bool
	sawEOI      bool
	adobe       int // APP14 transform, -1 if none
	quant       [4][64]int32
	haveQuant   [4]bool
	dc, ac      [4]huffTable
	haveDC      [4]bool
	haveAC      [4]bool
	ri          int // restart interval in MCUs
	eobrun      int // end-of-band run of a progressive AC scan
	// stride is the coefficients kept per block: 64 for progressive files
	// (refinement scans need every coefficient), otherwise only the
	// (8/scale)^2 the reduced inverse DCT reads.
	stride  int
	scans   int
	decoded int // MCUs (or blocks of non-interleaved scans) decoded in total, for truncation checks
	needed  int
	// planes are the output, allocated at the first scan; streamed says a
	// single interleaved sequential scan wrote them MCU row by MCU row.
	planes   [][]byte
	strides  []int
	streamed bool
	// maxAlloc bounds the coefficient store a non-streamed file needs (0:
	// no bound), so a caller's memory budget holds whatever the scans are.
	maxAlloc int64
	ratio    image.YCbCrSubsampleRatio
	// segments counts the restart segments decoded side by side.
	segments int
}

// done reports whether every MCU of a sequential file was decoded.
func (d *decoder) done() bool { return d.needed > 0 && d.decoded >= d.needed }

const (
	mSOF0 = 0xC0
	mSOF1 = 0xC1
	mSOF2 = 0xC2
	mDHT  = 0xC4
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDRI  = 0xDD
	mAPP0 = 0xE0
	mAPPE = 0xEE
)

// readMarkers walks the file. With headerOnly it stops after the frame
// header; otherwise it decodes every scan.
func (d *decoder) readMarkers(headerOnly bool) error {
	b := d.b
	d.adobe = -1
	if len(b) < 2 || b[0] != 0xFF || b[1] != mSOI {
		return FormatError("missing SOI marker")
	}
	d.pos = 2
	for {
		// Markers may be preceded by fill bytes 0xFF.
		if d.pos >= len(b) {
			if d.sawSOF && !headerOnly {
				return nil // the caller decides whether enough was decoded
			}
			return io.ErrUnexpectedEOF
		}
		if b[d.pos] != 0xFF {
			// Bytes between segments: libjpeg skips them with a warning,
			// and files with them open everywhere.
			if d.scans == 0 {
				return FormatError("expected a marker")
			}
			d.pos++
			continue
		}
		for d.pos < len(b) && b[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(b) {
			return io.ErrUnexpectedEOF
		}
		m := b[d.pos]
		d.pos++
		if m == mEOI {
			d.sawEOI = true
			return nil
		}
		if m >= 0xD0 && m <= 0xD7 || m == 0x01 {
			continue // stray RSTn or TEM: no length
		}
		if d.pos+2 > len(b) {
			return io.ErrUnexpectedEOF
		}
		n := int(b[d.pos])<<8 | int(b[d.pos+1])
		if n < 2 {
			return FormatError("bad segment length")
		}
		if d.pos+n > len(b) {
			return io.ErrUnexpectedEOF
		}
		seg := b[d.pos+2 : d.pos+n]
		d.pos += n
		var err error
		switch {
		case m == mSOF0 || m == mSOF1 || m == mSOF2:
			if d.sawSOF {
				return FormatError("two frame headers")
			}
			err = d.readSOF(seg, m == mSOF2)
			if err == nil && headerOnly {
				return nil
			}
		case m >= 0xC3 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC:
			return fmt.Errorf("%w: coding process %#x (lossless or arithmetic)", ErrNotHandled, m)
		case m == mDHT:
			err = d.readDHT(seg)
		case m == mDQT:
			err = d.readDQT(seg)
		case m == mDRI:
			if len(seg) != 2 {
				return FormatError("bad DRI")
			}
			d.ri = int(seg[0])<<8 | int(seg[1])
		case m == mAPPE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe = int(seg[11])
			}
		case m == mSOS:
			if !d.sawSOF {
				return FormatError("scan before frame header")
			}
			if headerOnly {
				return FormatError("scan before frame header")
			}
			err = d.readScan(seg)
		}
		if err != nil {
			return err
		}
	}
}

func (d *decoder) readSOF(s []byte, progressive bool) error {
	if len(s) < 6 {
		return FormatError("short frame header")
	}
	if s[0] != 8 {
		return fmt.Errorf("%w: %d-bit samples", ErrNotHandled, s[0])
	}
	d.h, d.w = int(s[1])<<8|int(s[2]), int(s[3])<<8|int(s[4])
	n := int(s[5])
	if d.w == 0 || d.h == 0 {
		return FormatError("zero size (DNL not supported)")
	}
	if n != 1 && n != 3 && n != 4 {
		return FormatError("bad component count")
	}
	if len(s) < 6+3*n {
		return FormatError("short frame header")
	}
	d.sawSOF = true
	d.progressive = progressive
	d.comps = make([]component, n)
	d.hmax, d.vmax = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		c.id, c.h, c.v, c.tq = s[6+3*i], int(s[7+3*i]>>4), int(s[7+3*i]&15), int(s[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return FormatError("bad sampling factor or table")
		}
		for j := 0; j < i; j++ {
			if d.comps[j].id == c.id {
				return FormatError("repeated component id")
			}
		}
		if n == 1 {
			c.h, c.v = 1, 1 // one component: the MCU is one block whatever it says
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	d.mcux = (d.w + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcuy = (d.h + 8*d.vmax - 1) / (8 * d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		c.bw, c.bh = d.mcux*c.h, d.mcuy*c.v
		cw := (d.w*c.h + d.hmax - 1) / d.hmax
		ch := (d.h*c.v + d.vmax - 1) / d.vmax
		c.cw, c.ch = (cw+7)/8, (ch+7)/8
	}
	return nil
}

func (d *decoder) readDQT(s []byte) error {
	for len(s) > 0 {
		pq, tq := s[0]>>4, int(s[0]&15)
		if tq > 3 || pq > 1 {
			return FormatError("bad quantisation table")
		}
		s = s[1:]
		n := 64 * int(1+pq)
		if len(s) < n {
			return FormatError("short quantisation table")
		}
		for i := 0; i < 64; i++ {
			v := int32(s[i])
			if pq == 1 {
				v = int32(s[2*i])<<8 | int32(s[2*i+1])
			}
			d.quant[tq][zigzag[i]] = v
		}
		d.haveQuant[tq] = true
		s = s[n:]
	}
	return nil
}

// zigzag[i] is the natural (row-major) index of the i-th coefficient in
// zigzag order.
var zigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// layout checks, before any scan is decoded, that the frame is one this
// package returns: grey, or YCbCr with a standard subsampling.
func (d *decoder) layout() error {
	n := len(d.comps)
	if n == 4 || (n == 3 && d.adobe == 0) {
		return fmt.Errorf("%w: CMYK, YCCK or RGB-coded JPEG", ErrNotHandled)
	}
	if n == 3 {
		c0, c1, c2 := d.comps[0], d.comps[1], d.comps[2]
		if c1.h != 1 || c1.v != 1 || c2.h != 1 || c2.v != 1 {
			return fmt.Errorf("%w: chroma sampling %dx%d", ErrNotHandled, c1.h, c1.v)
		}
		switch [2]int{c0.h, c0.v} {
		case [2]int{1, 1}:
			d.ratio = image.YCbCrSubsampleRatio444
		case [2]int{2, 1}:
			d.ratio = image.YCbCrSubsampleRatio422
		case [2]int{2, 2}:
			d.ratio = image.YCbCrSubsampleRatio420
		case [2]int{1, 2}:
			d.ratio = image.YCbCrSubsampleRatio440
		case [2]int{4, 1}:
			d.ratio = image.YCbCrSubsampleRatio411
		case [2]int{4, 2}:
			d.ratio = image.YCbCrSubsampleRatio410
		default:
			return fmt.Errorf("%w: luma sampling %dx%d", ErrNotHandled, c0.h, c0.v)
		}
	}
	px := 8 / d.scale
	d.planes = make([][]byte, n)
	d.strides = make([]int, n)
	for i := range d.comps {
		c := &d.comps[i]
		d.strides[i] = c.bw * px
		d.planes[i] = make([]byte, d.strides[i]*c.bh*px)
	}
	return nil
}

// image runs the inverse DCT over the stored coefficients (unless the scan
// was streamed) and returns the planes.
func (d *decoder) image() (image.Image, error) {
	if !d.sawSOF || d.scans == 0 {
		return nil, FormatError("no image data")
	}
	for i := range d.comps {
		if !d.haveQuant[d.comps[i].tq] {
			return nil, FormatError("missing quantisation table")
		}
	}
	if !d.streamed {
		for i := range d.comps {
			d.inverseDCT(&d.comps[i], d.planes[i], d.strides[i])
		}
	}
	w, h := ScaledSize(d.w, d.h, d.scale)
	r := image.Rect(0, 0, w, h)
	if len(d.comps) == 1 {
		return &image.Gray{Pix: d.planes[0], Stride: d.strides[0], Rect: r}, nil
	}
	return &image.YCbCr{Y: d.planes[0], Cb: d.planes[1], Cr: d.planes[2], YStride: d.strides[0], CStride: d.strides[1],
		SubsampleRatio: d.ratio, Rect: r}, nil
}
