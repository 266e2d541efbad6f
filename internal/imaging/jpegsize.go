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

func (s *jpegSource) predict(q int) int {
	qt := quantTables(q)
	inv := [2][64]float32{reciprocals(&qt[0]), reciprocals(&qt[1])}
	mcu := 16
	if s.gray {
		mcu = 8
	}
	mw, mh := (s.w+mcu-1)/mcu, (s.h+mcu-1)/mcu
	every := sampleEvery
	if mw*mh < 64*sampleEvery {
		every = 1 // small images: count everything
	}
	type tally struct {
		freq    [4][257]int
		extra   int
		sampled int
	}
	parts := make(chan tally, 8)
	parallelRows(mh, func(y0, y1 int) {
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
		dcOf := func(c int, coef []float32) int32 {
			return int32(math.Round(float64(coef[0] * inv[min(c, 1)][0])))
		}
		// One MCU in every sampleEvery, on a diagonal pattern so every row
		// and column of the picture is represented; each takes its DC
		// predictor from the MCU before it, as in the real scan.
		for my := y0; my < y1; my++ {
			for mx := (3 * my) % every; mx < mw; mx += every {
				i := my*mw + mx
				var prev [3]int32
				if i > 0 {
					if s.gray {
						prev[0] = dcOf(0, s.coef[0][64*(i-1):])
					} else {
						prev[0] = dcOf(0, s.coef[0][64*(4*(i-1)+3):])
						prev[1] = dcOf(1, s.coef[1][64*(i-1):])
						prev[2] = dcOf(2, s.coef[2][64*(i-1):])
					}
				}
				if s.gray {
					count(0, s.coef[0][64*i:64*i+64], &prev[0])
				} else {
					for k := range 4 {
						count(0, s.coef[0][64*(4*i+k):64*(4*i+k)+64], &prev[0])
					}
					count(1, s.coef[1][64*i:64*i+64], &prev[1])
					count(2, s.coef[2][64*i:64*i+64], &prev[2])
				}
				t.sampled++
			}
		}
		parts <- t
	})
	close(parts)
	var freq [4][257]int
	extra, sampled := 0, 0
	for t := range parts {
		for k := range t.freq {
			for i, v := range t.freq[k] {
				freq[k][i] += v
			}
		}
		extra += t.extra
		sampled += t.sampled
	}
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
