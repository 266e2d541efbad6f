package imaging

import "math"

// Trellis quantisation: rate-distortion optimised choice of each block's AC
// coefficients. Plain rounding spends bits on coefficients that barely change
// the picture; for every block this picks, among "round", "round down" and
// "zero" for each coefficient, the combination minimising
// distortion + lambda*bits, where bits come from the Huffman code lengths of
// a first, plainly quantised pass (run/size symbol + its extra bits, with
// ZRL and EOB). Dynamic programming over the position of the previous
// nonzero coefficient makes it exact for that rate model; only coefficients
// of at least half a step can be nonzero, so a block costs O(nonzeros^2).
// DC is left to plain rounding: an error there shows as a whole block
// shifting. Gain on the benchmark photographs: +0.07 dB (12 MP) and +0.15 dB
// (24 MP) at equal bytes, for about one more encode's time, so only the
// budget search's final answer is re-encoded with it.

// trellisLambda weighs bits against squared error measured in quantiser
// steps, so the quantisation table still decides which frequencies are cheap
// (weighting by pixel error instead gained nothing). Tuned on the benchmark
// photographs for PSNR at equal bytes: 0.05 and 0.15 gain less than 0.1,
// 0.25 loses (docs/benchmarks.md).
const trellisLambda = 0.1

// rateTable holds the cost in bits of each Huffman symbol of one AC table;
// symbols the first pass never used cost more than any used one.
type rateTable [256]float64

func newRateTable(lens *[256]uint8) *rateTable {
	var r rateTable
	for i, l := range lens {
		if l == 0 {
			r[i] = 18
		} else {
			r[i] = float64(l)
		}
	}
	return &r
}

// trellisBlock requantises one block: src holds its 64 zigzag coefficients,
// step the zigzag quantiser steps, dst receives the chosen levels.
func trellisBlock(src []float32, step *[64]float32, rate *rateTable, lambda float64, dst []int16) {
	dst[0] = int16(math.Round(float64(src[0] / step[0])))
	var (
		a     [64]float64 // |coefficient| in steps
		neg   [64]bool
		zcum  [64]float64 // zcum[i]: distortion of zeroing positions 1..i
		cost  [64]float64 // best cost of positions 1..p with p the last nonzero
		prev  [64]int8    // that path's previous nonzero position (0: none)
		level [64]int16   // that path's level at p
		nz    [64]int8    // positions that may be nonzero, in order
		nnz   int
	)
	for i := 1; i < 64; i++ {
		v := float64(src[i] / step[i])
		neg[i] = v < 0
		a[i] = math.Abs(v)
		zcum[i] = zcum[i-1] + a[i]*a[i]
		if a[i] >= 0.5 {
			nz[nnz] = int8(i)
			nnz++
		}
	}
	zrl := lambda * rate[0xF0]
	for k := 0; k < nnz; k++ {
		p := int(nz[k])
		r := int(math.Floor(a[p] + 0.5))
		// At most two levels: round, and one less (the next size category
		// down is where the bits are saved).
		var lv [2]int
		var sz [2]int
		var dist [2]float64
		nl := 1
		lv[0] = r
		if r > 1 {
			lv[1] = r - 1
			nl = 2
		}
		for i := range nl {
			sz[i], _ = magnitude(int32(lv[i]))
			d := a[p] - float64(lv[i])
			dist[i] = d*d + lambda*float64(sz[i])
		}
		best := math.Inf(1)
		var bestPrev int8
		var bestLevel int16
		// Nearest predecessor first: its cost is usually close to the best,
		// so farther ones (more zeroed error) are mostly cut by the bound.
		for j := k - 1; j >= -1; j-- {
			q := 0
			pc := 0.0
			if j >= 0 {
				q = int(nz[j])
				pc = cost[q]
			}
			run := p - q - 1
			base := pc + (zcum[p-1] - zcum[q]) + float64(run>>4)*zrl
			if base >= best {
				continue // the rest is never negative
			}
			rr := (run & 15) << 4
			for i := range nl {
				if c := base + dist[i] + lambda*rate[rr|sz[i]]; c < best {
					best, bestPrev, bestLevel = c, int8(q), int16(lv[i])
				}
			}
		}
		cost[p], prev[p], level[p] = best, bestPrev, bestLevel
	}
	// Choose where the block ends: after the last nonzero comes EOB unless
	// that is position 63.
	eob := lambda * rate[0x00]
	end := 0
	bestEnd := zcum[63] + eob
	for k := 0; k < nnz; k++ {
		p := int(nz[k])
		c := cost[p] + (zcum[63] - zcum[p])
		if p < 63 {
			c += eob
		}
		if c < bestEnd {
			bestEnd, end = c, p
		}
	}
	for i := 1; i < 64; i++ {
		dst[i] = 0
	}
	for p := end; p > 0; p = int(prev[p]) {
		if neg[p] {
			dst[p] = -level[p]
		} else {
			dst[p] = level[p]
		}
	}
}
