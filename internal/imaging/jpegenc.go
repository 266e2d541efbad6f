package imaging

import (
	"bytes"
	"image"
	"image/draw"
	"math"
	"math/bits"
)

// Our own baseline JPEG encoder. image/jpeg writes the example Huffman
// tables of the JPEG standard and rounds every coefficient to nearest; this
// one builds optimal Huffman tables for each image (JPEG Annex K.2) and
// quantises with a small dead zone, which together make files about 15%
// smaller at the same quality setting. It also keeps the DCT of the image
// between encodes, so the budget search re-quantises instead of starting
// over. Output: 4:2:0 YCbCr (or 1-component gray), baseline, no APPn.
type jpegSource struct {
	w, h  int
	gray  bool
	coef  [3][]float32 // per component, 64 DCT coefficients per block in zigzag order, blocks in scan order
	nBlks [3]int
	// Code lengths of each dead-zone encode, by its tables: the trellis
	// pass after the budget search reuses them as its rate model instead of
	// quantising and counting again.
	lens map[[2][64]int32][4][256]uint8
	est  map[int]int // size predictions by quality (jpegsize.go)
	// planes are the YCbCr (or grey) samples; mw x mh MCUs cover them.
	planes [3]plane
	mw, mh int
	sample []sampledMCU // the MCUs size predictions count, transformed once
}

// zigzag[i] is the natural (row-major) index of the i-th zigzag coefficient.
var zigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// Annex K example quantisation tables (natural order), scaled by quality the
// way the IJG library does, so "quality 85" means what users expect.
var baseQuant = [2][64]int{
	{16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99},
	{17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
		24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99},
}

// newJPEGSource converts m to YCbCr 4:2:0 planes (or gray) and transforms
// every 8x8 block once.
func newJPEGSource(m image.Image) *jpegSource {
	s := newJPEGSample(m)
	s.transform()
	return s
}

// newJPEGSample prepares m's planes without transforming them: enough to
// predict sizes (jpegsize.go), which transforms only its sample. The budget
// search judges each size this way before paying for the whole DCT.
func newJPEGSample(m image.Image) *jpegSource {
	b := m.Bounds()
	s := &jpegSource{w: b.Dx(), h: b.Dy()}
	switch t := m.(type) {
	case *image.Gray:
		s.gray = true
		s.planes[0] = plane{t.Pix, t.Stride, s.w, s.h}
	case *image.YCbCr:
		if t.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			cw, ch := chromaSize(t)
			s.planes = [3]plane{{t.Y, t.YStride, s.w, s.h}, {t.Cb, t.CStride, cw, ch}, {t.Cr, t.CStride, cw, ch}}
			break
		}
		s.planes = rgbPlanes(m)
	default:
		s.planes = rgbPlanes(m)
	}
	mcu := 16
	if s.gray {
		mcu = 8
	}
	s.mw, s.mh = (s.w+mcu-1)/mcu, (s.h+mcu-1)/mcu
	return s
}

// mcuBlocks transforms MCU (mx, my) into dst: one block for grey, else
// Y00 Y10 Y01 Y11, Cb, Cr (scan order).
func (s *jpegSource) mcuBlocks(mx, my int, dst [][]float32) {
	if s.gray {
		fdct(s.planes[0], mx*8, my*8, dst[0])
		return
	}
	for k := range 4 {
		fdct(s.planes[0], mx*16+8*(k&1), my*16+8*(k>>1), dst[k])
	}
	fdct(s.planes[1], mx*8, my*8, dst[4])
	fdct(s.planes[2], mx*8, my*8, dst[5])
}

// transform computes every block's DCT once; each quality then only
// re-quantises.
func (s *jpegSource) transform() {
	mw, mh := s.mw, s.mh
	if s.gray {
		s.nBlks[0] = mw * mh
		s.coef[0] = make([]float32, 64*mw*mh)
		parallelRows(mh, func(y0, y1 int) {
			for my := y0; my < y1; my++ {
				for mx := 0; mx < mw; mx++ {
					i := 64 * (my*mw + mx)
					s.mcuBlocks(mx, my, [][]float32{s.coef[0][i : i+64]})
				}
			}
		})
		return
	}
	s.nBlks = [3]int{4 * mw * mh, mw * mh, mw * mh}
	for c := range 3 {
		s.coef[c] = make([]float32, 64*s.nBlks[c])
	}
	parallelRows(mh, func(y0, y1 int) {
		dst := make([][]float32, 6)
		for my := y0; my < y1; my++ {
			for mx := 0; mx < mw; mx++ {
				i := my*mw + mx
				for k := range 4 {
					dst[k] = s.coef[0][64*(4*i+k) : 64*(4*i+k)+64]
				}
				dst[4] = s.coef[1][64*i : 64*i+64]
				dst[5] = s.coef[2][64*i : 64*i+64]
				s.mcuBlocks(mx, my, dst)
			}
		}
	})
}

type plane struct {
	pix          []byte
	stride, w, h int
}

// rgbPlanes converts any image to JFIF YCbCr with chroma averaged over 2x2.
func rgbPlanes(m image.Image) [3]plane {
	r, ok := m.(*image.RGBA)
	if !ok {
		r = image.NewRGBA(image.Rect(0, 0, m.Bounds().Dx(), m.Bounds().Dy()))
		draw.Draw(r, r.Rect, m, m.Bounds().Min, draw.Src)
	}
	w, h := r.Rect.Dx(), r.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	y, cb, cr := make([]byte, w*h), make([]byte, cw*ch), make([]byte, cw*ch)
	parallelRows(ch, func(y0, y1 int) {
		for cy := y0; cy < y1; cy++ {
			for cx := 0; cx < cw; cx++ {
				var sb, sr, n int32
				for dy := 0; dy < 2; dy++ {
					py := min(2*cy+dy, h-1)
					for dx := 0; dx < 2; dx++ {
						px := min(2*cx+dx, w-1)
						p := r.Pix[py*r.Stride+4*px:]
						R, G, B := int32(p[0]), int32(p[1]), int32(p[2])
						// JFIF full-range coefficients in 16.16 fixed point.
						y[py*w+px] = uint8((19595*R + 38470*G + 7471*B + 1<<15) >> 16)
						sb += -11059*R - 21709*G + 32768*B
						sr += 32768*R - 27439*G - 5329*B
						n++
					}
				}
				cb[cy*cw+cx] = clamp8((sb/n+1<<15)>>16 + 128)
				cr[cy*cw+cx] = clamp8((sr/n+1<<15)>>16 + 128)
			}
		}
	})
	return [3]plane{{y, w, w, h}, {cb, cw, cw, ch}, {cr, cw, cw, ch}}
}

func clamp8(v int32) uint8 {
	return uint8(max(0, min(255, v)))
}

// fdct transforms the 8x8 block at (x0, y0) of p (edges replicated) into
// out[0:64] in zigzag order, with the Arai-Agui-Nakajima factorisation (5
// multiplications per 8 samples; its per-coefficient scale is removed at the
// end), in float32. Products are wrapped in float32() so the compiler cannot
// fuse them into FMAs: the bytes must not depend on the CPU.
func fdct(p plane, x0, y0 int, out []float32) {
	var d [64]float32
	if x0+8 <= p.w && y0+8 <= p.h {
		for y := 0; y < 8; y++ {
			row := p.pix[(y0+y)*p.stride+x0:][:8]
			dr := d[8*y : 8*y+8]
			for x, v := range row {
				dr[x] = float32(v) - 128
			}
		}
	} else {
		for y := 0; y < 8; y++ {
			row := p.pix[min(y0+y, p.h-1)*p.stride:]
			for x := 0; x < 8; x++ {
				d[8*y+x] = float32(row[min(x0+x, p.w-1)]) - 128
			}
		}
	}
	for i := 0; i < 8; i++ {
		r := (*[8]float32)(d[8*i : 8*i+8])
		r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] = aan8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
	}
	for i := 0; i < 8; i++ {
		d[i], d[8+i], d[16+i], d[24+i], d[32+i], d[40+i], d[48+i], d[56+i] =
			aan8(d[i], d[8+i], d[16+i], d[24+i], d[32+i], d[40+i], d[48+i], d[56+i])
	}
	out = out[:64]
	for i, n := range zigzag {
		out[i] = float32(d[n] * aanDescale[n])
	}
}

const (
	c4    = 0.707106781186547524 // cos(4pi/16)
	c6s   = 0.382683432365089772 // cos(6pi/16)
	c2mc6 = 0.541196100146196984 // cos(2pi/16) - cos(6pi/16)
	c2pc6 = 1.306562964876376527 // cos(2pi/16) + cos(6pi/16)
)

// aan8 is the 8-point forward butterfly on values, so the compiler keeps
// them in registers.
func aan8(x0, x1, x2, x3, x4, x5, x6, x7 float32) (y0, y1, y2, y3, y4, y5, y6, y7 float32) {
	t0, t7 := x0+x7, x0-x7
	t1, t6 := x1+x6, x1-x6
	t2, t5 := x2+x5, x2-x5
	t3, t4 := x3+x4, x3-x4
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2
	y0, y4 = t10+t11, t10-t11
	z1 := float32((t12 + t13) * c4)
	y2, y6 = t13+z1, t13-z1
	t10, t11, t12 = t4+t5, t5+t6, t6+t7
	z5 := float32((t10 - t12) * c6s)
	z2 := float32(c2mc6*t10) + z5
	z4 := float32(c2pc6*t12) + z5
	z3 := float32(t11 * c4)
	z11, z13 := t7+z3, t7-z3
	y5, y3 = z13+z2, z13-z2
	y1, y7 = z11+z4, z11-z4
	return
}

// aanDescale[n] turns the AAN output at natural index n into the
// orthonormal-scaled DCT coefficient JPEG quantises.
var aanDescale = func() (t [64]float32) {
	s := func(k int) float64 {
		if k == 0 {
			return 1
		}
		return math.Cos(float64(k)*math.Pi/16) * math.Sqrt2
	}
	for v := 0; v < 8; v++ {
		for u := 0; u < 8; u++ {
			t[8*v+u] = float32(1 / (8 * s(u) * s(v)))
		}
	}
	return t
}()

// tableFlatten pulls the Annex K luma steps that are coarser than its DC
// step towards it, as step = dc * (annexK/dc)^tableFlatten: the low
// frequencies keep their Annex K steps and the high ones get finer. Annex K
// was tuned for 1990s viewing distances and throws away the fine texture
// (skin, hair, print) a clinician zooms into, and squared error (PSNR)
// favours flatter tables. Chroma uses the same table as luma, finer than
// Annex K's chroma table: 4:2:0 has already halved chroma resolution, and
// what chroma is left carries colour edges (a rash's border) at few bytes.
// Measured on the benchmark photographs against their Lanczos references at
// equal bytes (docs/benchmarks.md): +0.5 dB on phone12 (12 MP) and +1.2 dB
// on camera24 (24 MP, detailed) over the Annex K tables. Flattening helps
// the detailed photo most, the finer chroma the smoother one; 0.3 gains
// little more per byte and 0.7 with Annex K chroma about half.
const tableFlatten = 0.5

// quantTables returns the luma and chroma tables (natural order) for quality
// q, scaled the way the IJG library does, so "quality 85" still means about
// what users expect.
func quantTables(q int) [2][64]int32 {
	t := quantTablesFlat(q, tableFlatten)
	t[1] = t[0]
	return t
}

// quantTablesFlat returns the Annex K tables flattened by flatten (1: the
// tables as published) and scaled for quality q.
func quantTablesFlat(q int, flatten float64) (t [2][64]int32) {
	q = max(1, min(100, q))
	scale := 200 - 2*q
	if q < 50 {
		scale = 5000 / q
	}
	for k := range 2 {
		dc := float64(baseQuant[k][0])
		for i := range 64 {
			base := float64(baseQuant[k][i])
			if base > dc {
				base = dc * math.Pow(base/dc, flatten)
			}
			t[k][i] = int32(max(1, min(255, math.Round(base*float64(scale)/100))))
		}
	}
	return t
}

// deadZone is subtracted from |coefficient/step| before rounding: values just
// above half a step cost a code each but add little to the picture. 0.5 would
// zero everything below one step; 0.1-0.2 is the usual range.
const deadZone = 0.15

// encode writes the JPEG at quality q.
func (s *jpegSource) encode(q int) []byte { return s.encodeWith(quantTables(q)) }

// encodeWith writes the JPEG with the given luma and chroma tables.
func (s *jpegSource) encodeWith(qt [2][64]int32) []byte { return s.encodeRD(qt, 0) }

// encodeTrellis writes the JPEG at quality q with trellis quantisation
// (trellis.go) instead of the dead zone.
func (s *jpegSource) encodeTrellis(q int) []byte { return s.encodeRD(quantTables(q), trellisLambda) }

// encodeRD is encodeWith plus, for lambda > 0, trellis quantisation.
func (s *jpegSource) encodeRD(qt [2][64]int32, lambda float64) []byte {
	nc := 3
	if s.gray {
		nc = 1
	}
	// Quantise every block once; the two Huffman passes read the result.
	qc := make([][]int16, nc)
	var codes [4][256]uint16
	var lens [4][256]uint8
	var bits [4][17]int
	var vals [4][]byte
	if l, ok := s.lens[qt]; ok && lambda > 0 {
		for c := 0; c < nc; c++ {
			qc[c] = make([]int16, len(s.coef[c]))
		}
		lens = l
	} else {
		for c := 0; c < nc; c++ {
			qc[c] = s.deadZone(c, &qt[min(c, 1)])
		}
		codes, lens, bits, vals = s.huffman(qc)
		if lambda == 0 {
			if s.lens == nil {
				s.lens = map[[2][64]int32][4][256]uint8{}
			}
			s.lens[qt] = lens
		}
	}
	if lambda > 0 {
		for c := 0; c < nc; c++ {
			t := &qt[min(c, 1)]
			var step [64]float32
			for i, n := range zigzag {
				step[i] = float32(t[n])
			}
			rate := newRateTable(&lens[2*min(c, 1)+1])
			src, dst := s.coef[c], qc[c]
			parallelRows(s.nBlks[c], func(b0, b1 int) {
				for b := b0; b < b1; b++ {
					trellisBlock(src[64*b:64*b+64], &step, rate, lambda, dst[64*b:64*b+64])
				}
			})
		}
		codes, lens, bits, vals = s.huffman(qc)
	}

	var out bytes.Buffer
	out.Grow(len(qc[0]) / 4)
	out.Write([]byte{0xFF, 0xD8})
	// DQT
	ntab := min(nc, 2)
	out.Write([]byte{0xFF, 0xDB, 0, byte(2 + 65*ntab)})
	for k := 0; k < ntab; k++ {
		out.WriteByte(byte(k))
		for _, n := range zigzag {
			out.WriteByte(byte(qt[k][n]))
		}
	}
	// SOF0
	out.Write([]byte{0xFF, 0xC0, 0, byte(8 + 3*nc), 8, byte(s.h >> 8), byte(s.h), byte(s.w >> 8), byte(s.w), byte(nc)})
	if s.gray {
		out.Write([]byte{1, 0x11, 0})
	} else {
		out.Write([]byte{1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1})
	}
	// DHT
	for k := 0; k < 2*ntab; k++ {
		n := len(vals[k])
		out.Write([]byte{0xFF, 0xC4, byte((19 + n) >> 8), byte(19 + n), byte((k&1)<<4 | k>>1)})
		for l := 1; l <= 16; l++ {
			out.WriteByte(byte(bits[k][l]))
		}
		out.Write(vals[k])
	}
	// DRI: the scan's restart segments (jpegscan.go).
	if ri := s.restartInterval(); ri < s.mw*s.mh {
		out.Write([]byte{0xFF, 0xDD, 0, 4, byte(ri >> 8), byte(ri)})
	}
	// SOS
	if s.gray {
		out.Write([]byte{0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 63, 0})
	} else {
		out.Write([]byte{0xFF, 0xDA, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0})
	}
	data := s.writeScan(qc, &codes, &lens, out.Bytes())
	return append(data, 0xFF, 0xD9)
}

// deadZone quantises component c with table t (natural order).
func (s *jpegSource) deadZone(c int, t *[64]int32) []int16 {
	inv := reciprocals(t)
	src := s.coef[c]
	dst := make([]int16, len(src))
	parallelRows(s.nBlks[c], func(b0, b1 int) {
		var blk [64]int16
		for b := b0; b < b1; b++ {
			quantiseBlock(src[64*b:64*b+64], &inv, &blk)
			copy(dst[64*b:64*b+64], blk[:])
		}
	})
	return dst
}

func (s *jpegSource) huffman(qc [][]int16) (codes [4][256]uint16, lens [4][256]uint8, bits [4][17]int, vals [4][]byte) {
	freq := s.countFreq(qc)
	for k := 0; k < 4; k++ {
		if s.gray && k >= 2 {
			break
		}
		bits[k], vals[k] = huffmanTable(freq[k])
		code := uint16(0)
		n := 0
		for l := 1; l <= 16; l++ {
			for range bits[k][l] {
				codes[k][vals[k][n]], lens[k][vals[k][n]] = code, uint8(l)
				code++
				n++
			}
			code <<= 1
		}
	}
	return
}

// magnitude returns the JPEG size category of v and its extra bits (ones'
// complement for negatives).
func magnitude(v int32) (int, uint32) {
	neg := v >> 31 // 0 or -1, without a branch
	n := bits.Len32(uint32((v ^ neg) - neg))
	return n, uint32(v+neg) & (1<<n - 1)
}

// huffmanTable builds code-length counts (bits[1..16]) and symbols ordered by
// code length from symbol frequencies, following JPEG Annex K.2: a reserved
// symbol 256 keeps any code from being all ones, lengths over 16 are folded
// back, then the reserved code is removed.
func huffmanTable(f [257]int) ([17]int, []byte) {
	freq := f
	freq[256] = 1
	var size [257]int
	var others [257]int
	for i := range others {
		others[i] = -1
	}
	for {
		v1, v2 := -1, -1
		for i := 0; i < 257; i++ { // least frequency, ties to the larger symbol
			if freq[i] > 0 && (v1 < 0 || freq[i] <= freq[v1]) {
				v1 = i
			}
		}
		for i := 0; i < 257; i++ {
			if i != v1 && freq[i] > 0 && (v2 < 0 || freq[i] <= freq[v2]) {
				v2 = i
			}
		}
		if v2 < 0 {
			break
		}
		freq[v1] += freq[v2]
		freq[v2] = 0
		size[v1]++
		for others[v1] >= 0 {
			v1 = others[v1]
			size[v1]++
		}
		others[v1] = v2
		size[v2]++
		for others[v2] >= 0 {
			v2 = others[v2]
			size[v2]++
		}
	}
	var count [258]int // a code can be at most 256 long before folding
	for _, s := range size {
		if s > 0 {
			count[s]++
		}
	}
	for i := 257; i > 16; i-- {
		for count[i] > 0 {
			j := i - 2
			for count[j] == 0 {
				j--
			}
			count[i] -= 2
			count[i-1]++
			count[j+1] += 2
			count[j]--
		}
	}
	i := 16
	for count[i] == 0 {
		i--
	}
	count[i]-- // the reserved symbol's code
	var bits [17]int
	copy(bits[:], count[:17])
	var vals []byte
	for l := 1; l < 258; l++ {
		for sym := 0; sym < 256; sym++ {
			if size[sym] == l {
				vals = append(vals, byte(sym))
			}
		}
	}
	// Symbols stay in order of their unfolded lengths; the folded counts then
	// hand the longest codes to the rarest symbols, as the standard does.
	return bits, vals
}
