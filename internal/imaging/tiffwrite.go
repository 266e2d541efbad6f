package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zlib"
)

// TIFF tags and values we write. x/image/tiff cannot write JPEG compression,
// 1-bit pages, real resolution or more than one page, so the container is ours.
const (
	tagNewSubfileType      = 254
	tagImageWidth          = 256
	tagImageLength         = 257
	tagBitsPerSample       = 258
	tagCompression         = 259
	tagPhotometric         = 262
	tagStripOffsets        = 273
	tagSamplesPerPixel     = 277
	tagRowsPerStrip        = 278
	tagStripByteCounts     = 279
	tagXResolution         = 282
	tagYResolution         = 283
	tagResolutionUnit      = 296
	tagPageNumber          = 297
	tagYCbCrSubSampling    = 530
	tagReferenceBlackWhite = 532

	compDeflate = 8 // Adobe Deflate
	compJPEG    = 7 // "new-style" JPEG, TIFF Technical Note 2

	photoBlackIsZero = 1
	photoYCbCr       = 6

	typeShort    = 3
	typeLong     = 4
	typeRational = 5
)

// A page is one encoded image, ready for either container: JPEG bytes for
// photos, or zlib strips of packed gray/bilevel rows for documents.
type page struct {
	w, h, dpi    int
	jpeg         []byte   // Compression 7 when set
	strips       [][]byte // zlib streams of rowsPerStrip rows each
	rowsPerStrip int
	bits         int // 8 (gray) or 1 (bilevel, 0 = black)
	samples      int // 3 for colour JPEG, else 1
	subsample    [2]int
}

func (p *page) size() int {
	n := len(p.jpeg)
	for _, s := range p.strips {
		n += len(s)
	}
	return n
}

// jpegPage wraps image/jpeg output, reading the component layout from its SOF
// so the TIFF tags always match the stream (libtiff rejects a mismatch).
func jpegPage(j []byte, dpi int) (*page, error) {
	w, h, comps, hs, vs, err := jpegSOF(j)
	if err != nil {
		return nil, err
	}
	p := &page{w: w, h: h, dpi: dpi, jpeg: j, bits: 8, samples: comps, subsample: [2]int{hs, vs}}
	return p, nil
}

// jpegSOF returns size, component count and the luma-to-chroma subsampling
// of a baseline or progressive JPEG.
func jpegSOF(j []byte) (w, h, comps, hs, vs int, err error) {
	f, ok := readJPEGFrame(j)
	if !ok || (f.comps != 1 && f.comps != 3) {
		return 0, 0, 0, 0, 0, errors.New("imaging: no usable JPEG frame header")
	}
	hs, vs = 1, 1
	if f.comps == 3 {
		h0, v0, h1, v1 := f.hs[0], f.vs[0], f.hs[1], f.vs[1]
		if h1 == 0 || v1 == 0 || h0%h1 != 0 || v0%v1 != 0 {
			return 0, 0, 0, 0, 0, errors.New("imaging: no usable JPEG frame header")
		}
		hs, vs = h0/h1, v0/v1
	}
	return f.w, f.h, f.comps, hs, vs, nil
}

// deflatePage packs g (8-bit gray, or bilevel when bits == 1: pixels < 128
// become black) into zlib strips compressed in parallel. Strips are about
// 256 kB raw: big enough that zlib's window is used well, small enough to
// spread over both cores. A PDF image needs a single stream (oneStrip). It
// gives up and returns nil as soon as the output passes limit bytes, so a
// gray page that cannot fit costs a fraction of a full encode.
func deflatePage(g *image.Gray, bits, dpi int, oneStrip bool, limit int) *page {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	rowBytes := (w*bits + 7) / 8
	rps := max(1, min(h, (256<<10)/max(1, rowBytes)))
	if oneStrip {
		rps = h
	}
	n := (h + rps - 1) / rps
	p := &page{w: w, h: h, dpi: dpi, strips: make([][]byte, n), rowsPerStrip: rps, bits: bits, samples: 1}
	var total atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw := make([]byte, rowBytes*rps)
			for s := range jobs {
				if total.Load() > int64(limit) {
					continue // drain: the page is already over budget
				}
				y0, y1 := s*rps, min(h, (s+1)*rps)
				buf := raw[:(y1-y0)*rowBytes]
				for y := y0; y < y1; y++ {
					packRow(buf[(y-y0)*rowBytes:(y-y0+1)*rowBytes], g.Pix[y*g.Stride:y*g.Stride+w], bits)
				}
				out := &limitBuffer{limit: limit}
				zw, _ := zlib.NewWriterLevel(out, zlib.DefaultCompression)
				_, err := zw.Write(buf)
				if err == nil {
					err = zw.Close()
				}
				if err != nil {
					total.Store(int64(limit) + 1)
					continue
				}
				p.strips[s] = out.Bytes()
				total.Add(int64(out.Len()))
			}
		}()
	}
	for s := range n {
		jobs <- s
	}
	close(jobs)
	wg.Wait()
	if total.Load() > int64(limit) {
		return nil
	}
	return p
}

var errOverLimit = errors.New("imaging: over budget")

// limitBuffer fails writes past limit so zlib stops early.
type limitBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, errOverLimit
	}
	return b.Buffer.Write(p)
}

func packRow(dst, src []byte, bits int) {
	if bits == 8 {
		copy(dst, src)
		return
	}
	clear(dst)
	for x, v := range src {
		if v >= 128 { // white is 1 under BlackIsZero
			dst[x>>3] |= 0x80 >> (x & 7)
		}
	}
}

type ifdEntry struct {
	tag, typ uint16
	vals     []uint32 // SHORT/LONG values, or numerator/denominator pairs for RATIONAL
}

// writeTIFF lays out a little-endian TIFF: each page's image data followed by
// its IFD, IFDs chained in page order.
func writeTIFF(pages []*page) []byte {
	var b bytes.Buffer
	b.Write([]byte{'I', 'I', 42, 0, 0, 0, 0, 0})
	le := binary.LittleEndian
	prevNext := 4 // where the previous "next IFD" offset is patched
	for i, p := range pages {
		var offsets, counts []uint32
		data := p.strips
		if p.jpeg != nil {
			data = [][]byte{p.jpeg}
		}
		for _, s := range data {
			offsets = append(offsets, uint32(b.Len()))
			counts = append(counts, uint32(len(s)))
			b.Write(s)
		}
		if b.Len()%2 == 1 {
			b.WriteByte(0) // IFDs start on a word boundary
		}
		rps, comp, photo := p.rowsPerStrip, compDeflate, photoBlackIsZero
		if p.jpeg != nil {
			rps, comp = p.h, compJPEG
			if p.samples == 3 {
				photo = photoYCbCr
			}
		}
		bps := []uint32{uint32(p.bits)}
		if p.samples == 3 {
			bps = []uint32{8, 8, 8}
		}
		dpi := uint32(max(1, p.dpi))
		es := []ifdEntry{
			{tagNewSubfileType, typeLong, []uint32{0}},
			{tagImageWidth, typeLong, []uint32{uint32(p.w)}},
			{tagImageLength, typeLong, []uint32{uint32(p.h)}},
			{tagBitsPerSample, typeShort, bps},
			{tagCompression, typeShort, []uint32{uint32(comp)}},
			{tagPhotometric, typeShort, []uint32{uint32(photo)}},
			{tagStripOffsets, typeLong, offsets},
			{tagSamplesPerPixel, typeShort, []uint32{uint32(p.samples)}},
			{tagRowsPerStrip, typeLong, []uint32{uint32(rps)}},
			{tagStripByteCounts, typeLong, counts},
			{tagXResolution, typeRational, []uint32{dpi, 1}},
			{tagYResolution, typeRational, []uint32{dpi, 1}},
			{tagResolutionUnit, typeShort, []uint32{2}},
		}
		if len(pages) > 1 {
			es[0].vals[0] = 2 // "one page of a multi-page image"
			es = append(es, ifdEntry{tagPageNumber, typeShort, []uint32{uint32(i), uint32(len(pages))}})
		}
		if photo == photoYCbCr {
			es = append(es,
				ifdEntry{tagYCbCrSubSampling, typeShort, []uint32{uint32(p.subsample[0]), uint32(p.subsample[1])}},
				// TN2: must be present for YCbCr; these are the JFIF full-range values.
				ifdEntry{tagReferenceBlackWhite, typeRational, []uint32{0, 1, 255, 1, 128, 1, 255, 1, 128, 1, 255, 1}})
		}
		ifdAt := b.Len()
		var patch [4]byte
		le.PutUint32(patch[:], uint32(ifdAt))
		copy(b.Bytes()[prevNext:], patch[:])
		extraAt := ifdAt + 2 + 12*len(es) + 4
		var ifd, extra bytes.Buffer
		binary.Write(&ifd, le, uint16(len(es)))
		for _, e := range es {
			var raw bytes.Buffer
			count := len(e.vals)
			for _, v := range e.vals {
				switch e.typ {
				case typeShort:
					binary.Write(&raw, le, uint16(v))
				default:
					binary.Write(&raw, le, v)
				}
			}
			if e.typ == typeRational {
				count /= 2
			}
			binary.Write(&ifd, le, e.tag)
			binary.Write(&ifd, le, e.typ)
			binary.Write(&ifd, le, uint32(count))
			if raw.Len() <= 4 {
				v := make([]byte, 4)
				copy(v, raw.Bytes())
				ifd.Write(v)
			} else {
				binary.Write(&ifd, le, uint32(extraAt+extra.Len()))
				extra.Write(raw.Bytes())
				if extra.Len()%2 == 1 {
					extra.WriteByte(0)
				}
			}
		}
		prevNext = ifdAt + ifd.Len()
		binary.Write(&ifd, le, uint32(0))
		b.Write(ifd.Bytes())
		b.Write(extra.Bytes())
	}
	return b.Bytes()
}
