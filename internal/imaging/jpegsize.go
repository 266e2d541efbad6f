package imaging

import "math"

// Predicting a JPEG's size without writing it. The budget search wants the
// highest quality that fits; each full encode quantises every block and
// runs two Huffman passes, and a search over 40..95 took six of them (most
// of a 12 MP conversion's time). JPEG size is close to a sum over blocks,
// so quantising and counting the symbols of one MCU row in eight, with
// Huffman tables built for that sample, predicts the whole within about 2%;
// the search runs on predictions and confirms with one or two real encodes.

// sampleEvery is the MCU-row stride of the size sample.
const sampleEvery = 8

// estimate predicts len(s.encode(q)); predictions are kept, as the search
// asks for the same quality more than once.
func (s *jpegSource) estimate(q int) int {
	if e, ok := s.est[q]; ok {
		return e
	}
	if s.est == nil {
		s.est = map[int]int{}
	}
	e := s.predict(q)
	s.est[q] = e
	return e
}

// sampledMCU is one MCU of the size sample: its blocks' coefficients and
// the DC coefficients of the blocks coded before it (per component), for
// the DC differences.
type sampledMCU struct {
	blocks [6][64]float32
	prevDC [3]float32
}

// samples transforms (once) the MCUs the prediction counts: one in every
// sampleEvery, on a diagonal pattern so every row and column of the picture
// is represented (every MCU of a small image).
func (s *jpegSource) samples() []sampledMCU {
	if s.sample != nil {
		return s.sample
	}
	every := sampleEvery
	if s.mw*s.mh < 64*sampleEvery {
		every = 1
	}
	var at [][2]int
	for my := 0; my < s.mh; my++ {
		for mx := (3 * my) % every; mx < s.mw; mx += every {
			at = append(at, [2]int{mx, my})
		}
	}
	out := make([]sampledMCU, len(at))
	nb := 6
	if s.gray {
		nb = 1
	}
	parallelRows(len(at), func(i0, i1 int) {
		dst := make([][]float32, nb)
		for i := i0; i < i1; i++ {
			mx, my := at[i][0], at[i][1]
			o := &out[i]
			for k := range dst {
				dst[k] = o.blocks[k][:]
			}
			if s.coef[0] != nil {
				s.copyMCU(mx, my, dst)
			} else {
				s.mcuBlocks(mx, my, dst)
			}
			if mx == 0 && my == 0 {
				continue
			}
			// The blocks coded just before: the previous MCU's last luma
			// block and its chroma blocks. A DC coefficient is the block's
			// sum of samples (less 128 each) over 8.
			px, py := mx-1, my
			if px < 0 {
				px, py = s.mw-1, my-1
			}
			if s.gray {
				o.prevDC[0] = blockDC(s.planes[0], px*8, py*8)
			} else {
				o.prevDC[0] = blockDC(s.planes[0], px*16+8, py*16+8)
				o.prevDC[1] = blockDC(s.planes[1], px*8, py*8)
				o.prevDC[2] = blockDC(s.planes[2], px*8, py*8)
			}
		}
	})
	s.sample = out
	return out
}

// copyMCU reads an MCU's blocks from the full transform.
func (s *jpegSource) copyMCU(mx, my int, dst [][]float32) {
	i := my*s.mw + mx
	if s.gray {
		copy(dst[0], s.coef[0][64*i:64*i+64])
		return
	}
	for k := range 4 {
		copy(dst[k], s.coef[0][64*(4*i+k):64*(4*i+k)+64])
	}
	copy(dst[4], s.coef[1][64*i:64*i+64])
	copy(dst[5], s.coef[2][64*i:64*i+64])
}

// blockDC is the DC coefficient of the 8x8 block at (x0, y0), as fdct
// computes it (edges replicated).
func blockDC(p plane, x0, y0 int) float32 {
	var sum float32
	for y := 0; y < 8; y++ {
		row := p.pix[min(y0+y, p.h-1)*p.stride:]
		for x := 0; x < 8; x++ {
			sum += float32(row[min(x0+x, p.w-1)]) - 128
		}
	}
	return float32(sum * aanDescale[0])
}

func (s *jpegSource) predict(q int) int {
	qt := quantTables(q)
	inv := [2][64]float32{reciprocals(&qt[0]), reciprocals(&qt[1])}
	sample := s.samples()
	type tally struct {
		freq  [4][257]int
		extra int
	}
	parts := make(chan tally, 8)
	parallelRows(len(sample), func(i0, i1 int) {
		var t tally
		var blk [64]int16
		count := func(c int, coef []float32, prevDC *int32) {
			quantiseBlock(coef, &inv[min(c, 1)], &blk)
			tbl := 0
			if c > 0 {
				tbl = 2
			}
			n, _ := magnitude(int32(blk[0]) - *prevDC)
			*prevDC = int32(blk[0])
			t.freq[tbl][n]++
			t.extra += n
			run := 0
			for i := 1; i < 64; i++ {
				v := blk[i]
				if v == 0 {
					run++
					continue
				}
				for run > 15 {
					t.freq[tbl+1][0xF0]++
					run -= 16
				}
				n, _ := magnitude(int32(v))
				t.freq[tbl+1][run<<4|n]++
				t.extra += n
				run = 0
			}
			if run > 0 {
				t.freq[tbl+1][0]++
			}
		}
		for i := i0; i < i1; i++ {
			o := &sample[i]
			var prev [3]int32
			for c := range prev {
				prev[c] = int32(math.Round(float64(o.prevDC[c] * inv[min(c, 1)][0])))
			}
			if s.gray {
				count(0, o.blocks[0][:], &prev[0])
				continue
			}
			for k := range 4 {
				count(0, o.blocks[k][:], &prev[0])
			}
			count(1, o.blocks[4][:], &prev[1])
			count(2, o.blocks[5][:], &prev[2])
		}
		parts <- t
	})
	close(parts)
	var freq [4][257]int
	extra := 0
	for t := range parts {
		for k := range t.freq {
			for i, v := range t.freq[k] {
				freq[k][i] += v
			}
		}
		extra += t.extra
	}
	sampled := len(sample)
	mw, mh := s.mw, s.mh
	bits := extra
	header := 2 + 4 + 65*2 + 19 + 14 + 2
	for k := 0; k < 4; k++ {
		if s.gray && k >= 2 {
			break
		}
		counts, vals := huffmanTable(freq[k])
		header += 5 + 16 + len(vals)
		var lens [256]uint8
		n := 0
		for l := 1; l <= 16; l++ {
			for range counts[l] {
				lens[vals[n]] = uint8(l)
				n++
			}
		}
		for sym, f := range freq[k][:256] {
			bits += f * int(lens[sym])
		}
	}
	scale := float64(mw*mh) / float64(max(1, sampled))
	// Byte stuffing adds a zero after each 0xFF, about 1 byte in 256.
	return header + int(math.Ceil(float64(bits)/8*scale*(1+1.0/256)))
}

// quantiseBlock is the dead-zone rule for one block (zigzag order): DC
// rounded, AC rounded after subtracting deadZone from its magnitude in steps.
// inv holds the reciprocal steps.
func quantiseBlock(coef []float32, inv *[64]float32, dst *[64]int16) {
	coef = coef[:64]
	dst[0] = int16(math.Round(float64(coef[0] * inv[0])))
	// floor(|v| - deadZone + 0.5) for |v| >= deadZone - 0.5 is the integer
	// part of |v| + (0.5 - deadZone); a conversion truncates, which is the
	// floor for positive values.
	// The sign is handled without a branch (it is a coin toss for the
	// branch predictor): magnitude from the bits, sign mask from the top bit.
	const bias = 0.5 - deadZone
	for i := 1; i < 64; i++ {
		b := math.Float32bits(coef[i] * inv[i])
		q := int16(math.Float32frombits(b&^(1<<31)) + bias)
		neg := int16(int32(b) >> 31) // 0 or -1
		dst[i] = (q ^ neg) - neg
	}
}

// reciprocals returns 1/step for a table (zigzag order).
func reciprocals(t *[64]int32) (inv [64]float32) {
	for i, n := range zigzag {
		inv[i] = 1 / float32(t[n])
	}
	return inv
}
