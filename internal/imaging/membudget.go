package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image/color"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// DefaultDecodeBudget bounds one conversion's decoded pixels (with what a
// decoder holds beside them: a progressive JPEG's coefficients, a TIFF
// strip's inflated bytes, a copy made to flatten transparency). It is
// checked from the headers before any pixel buffer is allocated, and a
// document's pages are added up, which bounds the time the one upload
// worker spends on it as well as memory. 256 MB admits a 100 MP baseline
// JPEG, a progressive one up to about 30 MP, 26 grey A4 pages at 300 dpi or
// 5 colour ones; more is refused with a sentence (before this check a
// 480 kB PNG claiming 10000 x 10000 RGBA took 496 MB, and a 282-byte
// progressive JPEG 594 MB).
const DefaultDecodeBudget = 256_000_000

// A Limiter admits one decode at a time. Conversion and the tray's
// thumbnails share one (DefaultLimiter), so three thumbnail requests and an
// upload cannot hold four decoded photos at once; with DefaultDecodeBudget
// per decode that bounds the agent's image memory.
type Limiter struct{ slot chan struct{} }

// NewLimiter returns a Limiter that admits one decode at a time.
func NewLimiter() *Limiter { return &Limiter{slot: make(chan struct{}, 1)} }

// DefaultLimiter is the process-wide limiter Convert, ConvertMany and
// Thumbnail use unless Options.Limiter names another.
var DefaultLimiter = NewLimiter()

// acquire waits for the decode slot or for ctx to end.
func (l *Limiter) acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slot <- struct{}{}:
		return func() { <-l.slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// decodeCost is what decoding one input will hold in memory, from its
// headers: the decoded pixels (with any copy normalize makes), which a
// document keeps page after page until it is encoded, and the decoder's
// scratch (a progressive JPEG's coefficients, a TIFF strip's inflated
// bytes), which is freed before the next page is decoded.
type decodeCost struct {
	pixels  int64
	scratch int64
	w, h    int    // the largest page
	pages   int    // how many pages were added up
	detail  string // what makes it costly, for the sentence ("progressive JPEG")
}

// bytes is the peak the decode can reach.
func (c decodeCost) bytes() int64 { return c.pixels + c.scratch }

// add sums a document's pages: every page's pixels, the largest scratch.
func (c *decodeCost) add(p decodeCost) {
	c.pixels += p.pixels
	c.scratch = max(c.scratch, p.scratch)
	c.pages += max(1, p.pages)
	if int64(p.w)*int64(p.h) >= int64(c.w)*int64(c.h) {
		c.w, c.h, c.detail = p.w, p.h, p.detail
	}
}

// estimateDecode reads only headers. The figures follow what the decoders
// this package calls actually allocate (image/jpeg, image/png,
// x/image/tiff, ...), plus the copy normalize makes; they are upper bounds
// within a few percent, not guesses. An unreadable header gives a zero cost:
// the decoder then reports the damage in its own words.
func estimateDecode(in input) decodeCost {
	b := in.b
	switch in.t {
	case TypeJPEG:
		if f, ok := readJPEGFrame(b); ok {
			if f.ownDecoder() {
				return f.ownCost(max(1, in.scale))
			}
			return f.stdlibCost()
		}
	case TypePNG:
		return pngCost(b)
	case TypeTIFF:
		return tiffCost(b, in.ifd)
	case TypeGIF:
		if len(b) >= 10 {
			w, h := int(binary.LittleEndian.Uint16(b[6:])), int(binary.LittleEndian.Uint16(b[8:]))
			// Paletted first frame (bounded by the logical screen), then RGBA.
			return decodeCost{pixels: 5 * int64(w) * int64(h), w: w, h: h, pages: 1}
		}
	case TypeBMP:
		if cfg, err := bmp.DecodeConfig(bytes.NewReader(b)); err == nil {
			per := int64(4)
			if len(b) >= 30 && binary.LittleEndian.Uint16(b[28:]) <= 8 {
				per = 5 // paletted, then RGBA
			}
			return decodeCost{pixels: per * int64(cfg.Width) * int64(cfg.Height), w: cfg.Width, h: cfg.Height, pages: 1}
		}
	case TypeHEIC:
		if osHEIF != nil {
			if w, h, err := osHEIF.Size(b); err == nil {
				// The codec's own buffers (planes at least as big as the
				// pixels) and our RGBA copy.
				px := int64(w) * int64(h)
				return decodeCost{pixels: 4 * px, scratch: 4 * px, w: w, h: h, pages: 1}
			}
		}
	case TypeWebP:
		if cfg, err := webp.DecodeConfig(bytes.NewReader(b)); err == nil {
			px := int64(cfg.Width) * int64(cfg.Height)
			c := decodeCost{w: cfg.Width, h: cfg.Height, pages: 1}
			switch cfg.ColorModel {
			case color.YCbCrModel:
				c.pixels = px * 3 / 2
			case color.NYCbCrAModel:
				c.pixels = px*5/2 + 4*px // flattened onto white as RGBA
			default: // lossless: the decoder's ARGB buffer and the NRGBA result
				c.pixels, c.scratch = 4*px, 4*px
			}
			return c
		}
	}
	return decodeCost{pages: 1}
}

// admit checks a conversion's total decode cost against the budget, then
// waits for the decode slot; the caller releases it when done.
func admit(ctx context.Context, total decodeCost, opt Options) (release func(), err error) {
	if err := checkDecodeBudget(total, opt.DecodeBudget); err != nil {
		return nil, err
	}
	return opt.Limiter.acquire(ctx)
}

// checkDecodeBudget refuses a decode whose cost is over limit.
func checkDecodeBudget(c decodeCost, limit int64) error {
	if c.bytes() <= limit {
		return nil
	}
	return errDecodeBudget(c, limit)
}

// jpegFrame is what the SOF header and an Adobe marker say about a JPEG.
type jpegFrame struct {
	w, h        int
	progressive bool
	comps       int
	hs, vs      [4]int // sampling factors per component
	adobeRGB    bool   // APP14 "Adobe" with transform 0: RGB, converted by image/jpeg
}

// readJPEGFrame walks the marker segments up to the frame header.
func readJPEGFrame(b []byte) (jpegFrame, bool) {
	var f jpegFrame
	adobe := -1
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return f, false
		}
		m := b[i+1]
		if m == 0xFF {
			i++
			continue
		}
		if m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) || m == 0xDA || m == 0xD9 {
			return f, false
		}
		seg := b[i+4 : i+2+n]
		switch {
		case m == 0xEE && len(seg) >= 12 && bytes.HasPrefix(seg, []byte("Adobe")):
			adobe = int(seg[11])
		case m == 0xC0 || m == 0xC1 || m == 0xC2:
			if len(seg) < 6 {
				return f, false
			}
			f.h, f.w, f.comps = int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:])), int(seg[5])
			if f.comps < 1 || f.comps > 4 || len(seg) < 6+3*f.comps || f.w == 0 || f.h == 0 {
				return f, false
			}
			for c := 0; c < f.comps; c++ {
				f.hs[c], f.vs[c] = int(seg[7+3*c]>>4), int(seg[7+3*c]&15)
			}
			f.progressive = m == 0xC2
			f.adobeRGB = adobe == 0 && f.comps == 3
			return f, true
		}
		i += 2 + n
	}
	return f, false
}

// blocks returns the 8x8 block count of each component as image/jpeg
// allocates them: whole MCUs, each holding h x v blocks of the component.
func (f jpegFrame) blocks() (out [4]int64) {
	hmax, vmax := 1, 1
	for c := 0; c < f.comps; c++ {
		hmax, vmax = max(hmax, f.hs[c]), max(vmax, f.vs[c])
	}
	mxx := int64((f.w + 8*hmax - 1) / (8 * hmax))
	myy := int64((f.h + 8*vmax - 1) / (8 * vmax))
	for c := 0; c < f.comps; c++ {
		out[c] = mxx * int64(max(1, f.hs[c])) * myy * int64(max(1, f.vs[c]))
	}
	return out
}

// ownDecoder reports whether jpegdec reads this frame (else image/jpeg does).
func (f jpegFrame) ownDecoder() bool {
	if f.comps == 1 {
		return true
	}
	if f.comps != 3 || f.adobeRGB || f.hs[1] != 1 || f.vs[1] != 1 || f.hs[2] != 1 || f.vs[2] != 1 {
		return false
	}
	switch [2]int{f.hs[0], f.vs[0]} {
	case [2]int{1, 1}, [2]int{2, 1}, [2]int{2, 2}, [2]int{1, 2}, [2]int{4, 1}, [2]int{4, 2}:
		return true
	}
	return false
}

// ownCost is jpegdec's allocation at 1/scale: the planes at that scale, and
// the coefficients it keeps (int16; every one for a progressive file, whose
// refinement scans need them, else only those the reduced transform reads).
func (f jpegFrame) ownCost(scale int) decodeCost {
	c := decodeCost{w: f.w, h: f.h, pages: 1}
	p := int64(8 / scale)
	keep := p * p
	if f.progressive {
		keep = 64
		c.detail = "progressive JPEG"
	}
	if f.comps == 1 {
		f.hs[0], f.vs[0] = 1, 1
	}
	for _, n := range f.blocks() {
		c.pixels += p * p * n
		c.scratch += 2 * keep * n
	}
	return c
}

// stdlibCost is image/jpeg's allocation: the planes (64 bytes a block), a
// progressive file's coefficients for the whole image (64 int32 a block),
// and an RGBA or CMYK copy for layouts it converts (plus our RGBA copy of
// CMYK).
func (f jpegFrame) stdlibCost() decodeCost {
	c := decodeCost{w: f.w, h: f.h, pages: 1}
	px := int64(f.w) * int64(f.h)
	for _, n := range f.blocks() {
		c.pixels += 64 * n
		if f.progressive {
			c.scratch += 256 * n
		}
	}
	standard := f.comps == 1 || f.comps == 3 && f.hs[1] == 1 && f.vs[1] == 1 && f.hs[2] == 1 && f.vs[2] == 1 &&
		(f.hs[0] == 1 || f.hs[0] == 2 || f.hs[0] == 4) && (f.vs[0] == 1 || f.vs[0] == 2)
	switch {
	case f.comps == 4:
		c.pixels += 8 * px
		c.detail = "CMYK JPEG"
	case !standard || f.adobeRGB:
		c.pixels += 4 * px
	}
	if f.progressive {
		c.detail = "progressive JPEG"
	}
	return c
}

// pngCost follows image/png: one image of the header's layout (twice over
// for an interlaced file, whose passes are decoded apart and merged), and
// the 8-bit copy normalize makes of 16-bit and paletted colour images.
func pngCost(b []byte) decodeCost {
	if len(b) < 33 || string(b[12:16]) != "IHDR" {
		return decodeCost{pages: 1}
	}
	w, h := binary.BigEndian.Uint32(b[16:]), binary.BigEndian.Uint32(b[20:])
	depth, ct, interlace := b[24], b[25], b[28]
	if w > 1<<30 || h > 1<<30 {
		return decodeCost{pixels: 1 << 62, pages: 1}
	}
	if (ct == 0 || ct == 2) && pngHasChunk(b, "tRNS") {
		ct += 4 // decoded with an alpha channel
	}
	var per, norm int64
	switch ct {
	case 0:
		per, norm = 1, 0
		if depth == 16 {
			per, norm = 2, 1
		}
	case 3:
		per, norm = 1, 4
	default: // RGB, grey+alpha, RGBA
		per, norm = 4, 0
		if depth == 16 {
			per, norm = 8, 4
		}
	}
	px := int64(w) * int64(h)
	img := per * px
	if interlace == 1 {
		img *= 2
	}
	return decodeCost{pixels: img + norm*px, w: int(w), h: int(h), pages: 1}
}

// pngHasChunk reports whether a chunk of the given type comes before the
// image data.
func pngHasChunk(b []byte, typ string) bool {
	for i := 8; i+8 <= len(b); {
		n := int64(binary.BigEndian.Uint32(b[i:]))
		t := string(b[i+4 : i+8])
		if t == typ {
			return true
		}
		if t == "IDAT" || n > int64(len(b)) {
			return false
		}
		i += 12 + int(n)
	}
	return false
}

// tiffCost is one page of a TIFF (the IFD at off) as x/image/tiff decodes
// it: the image (8 bytes a pixel for 16-bit colour), the inflated strip or
// tile (grown in a bytes.Buffer by doubling, so up to twice its size, with
// the half-size buffer it is copied from), and normalize's 8-bit copy.
func tiffCost(b []byte, off uint32) decodeCost {
	bo := tiffByteOrder(b)
	if bo == nil {
		return decodeCost{pages: 1}
	}
	if off == 0 {
		off = bo.Uint32(b[4:8])
	}
	tags, _, err := readIFD(b, bo, off)
	if err != nil {
		return decodeCost{pages: 1}
	}
	w, h := int(firstTag(tags, tagImageWidth, 0)), int(firstTag(tags, tagImageLength, 0))
	pixels, scratch := tiffPageCost(tags)
	return decodeCost{pixels: pixels, scratch: scratch, w: w, h: h, pages: 1}
}

func firstTag(tags map[uint16][]uint32, tag uint16, def uint32) uint32 {
	if v := tags[tag]; len(v) > 0 {
		return v[0]
	}
	return def
}

const (
	tagTileWidth  = 322
	tagTileLength = 323
)

func tiffPageCost(tags map[uint16][]uint32) (pixels, scratch int64) {
	w, h := int64(firstTag(tags, tagImageWidth, 0)), int64(firstTag(tags, tagImageLength, 0))
	bps := int64(firstTag(tags, tagBitsPerSample, 1))
	spp := int64(firstTag(tags, tagSamplesPerPixel, 1))
	px := w * h
	var per, norm int64
	switch firstTag(tags, tagPhotometric, 1) {
	case 0, 1: // grey
		per = 1
		if bps == 16 {
			per, norm = 2, 1
		}
	case 3: // palette
		per, norm = 1, 4
	default: // RGB(A) and anything the decoder will refuse anyway
		per = 4
		if bps == 16 {
			per, norm = 8, 4
		}
	}
	bw, bh := w, min(h, int64(firstTag(tags, tagRowsPerStrip, uint32(min(h, 1<<32-1)))))
	if tw := int64(firstTag(tags, tagTileWidth, 0)); tw > 0 {
		bw, bh = tw, int64(firstTag(tags, tagTileLength, 0))
	}
	block := (bw*spp*bps + 7) / 8 * max(1, bh)
	return per*px + norm*px, 3 * block
}

func errDecodeBudget(c decodeCost, limit int64) error {
	what := fmt.Sprintf("%d x %d pixels", c.w, c.h)
	if c.detail != "" {
		what = fmt.Sprintf("a %s of %d x %d pixels", c.detail, c.w, c.h)
	}
	if c.pages > 1 {
		return newErr(ErrDecodeBudget, nil, "This %d-page document has about %s of pixels to decode (pages up to %s), more than the %s allowed for one item; scan it again in black and white or grey, at a lower resolution, or in smaller parts.",
			c.pages, humanBytes(c.bytes()), what, humanBytes(limit))
	}
	fix := "save it again at a smaller size and try again"
	if c.detail == "progressive JPEG" {
		fix = "save it again at a smaller size, or as a standard (baseline) JPEG, and try again"
	}
	return newErr(ErrDecodeBudget, nil, "Opening this image would take about %s of memory (%s), more than the %s allowed; %s.",
		humanBytes(c.bytes()), what, humanBytes(limit), fix)
}
