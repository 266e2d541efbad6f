package jpegdec

import (
	"math"
	"runtime"
	"sync"
)

// The inverse DCT, full size or reduced. A reduced N x N output (N = 4, 2,
// 1) is the N-point inverse DCT of the block's N x N lowest frequencies,
// scaled so a flat block keeps its level:
//
//	x(n) = sum_{k<N} c_k/2 * X(k) * cos((2n+1) k pi / 2N),  c_0 = 1/sqrt 2,
//
// the 8-point formula evaluated on the coarser grid, which is what libjpeg's
// jidctred computes. It low-passes each block (no aliasing from the dropped
// frequencies) and costs a fraction of the full transform. Arithmetic is
// float32 with every product rounded before it is added (an explicit
// conversion stops the compiler fusing it into an FMA), so the pixels do not
// depend on the CPU: the agent's output bytes must be the same everywhere.

// idctTables is what the transform of one component's blocks needs.
type idctTables struct {
	tbl  [64]float32 // dequantisation, with the AAN scale (and 1/8) for N = 8
	p    int         // output pixels per block side
	full bool        // blocks hold all 64 coefficients (else the p x p corner)
	// idx[i] and deq[i] are the store index and dequantisation of the i-th
	// coefficient of the p x p corner (row-major), for the reduced sizes.
	idx [16]int
	deq [16]float32
}

func (d *decoder) tables(c *component) *idctTables {
	q := &d.quant[c.tq]
	t := &idctTables{p: 8 / d.scale, full: d.stride == 64}
	for n := 0; n < 64; n++ {
		u, v := n%8, n/8
		t.tbl[n] = float32(q[n])
		if t.p == 8 {
			t.tbl[n] = float32(float64(q[n]) * aanScale[u] * aanScale[v] / 8)
		}
		if t.p <= 4 && u < t.p && v < t.p {
			i := v*t.p + u
			t.idx[i], t.deq[i] = i, float32(q[n])
			if t.full {
				t.idx[i] = n
			}
		}
	}
	return t
}

// block transforms one block's coefficients into out (p x p pixels).
func (t *idctTables) block(coef []int16, out []byte, stride int, ws *[64]float32) {
	switch t.p {
	case 8:
		idct8(coef, &t.tbl, ws, out, stride)
	case 4:
		idct4(coef, t, out, stride)
	case 2:
		idctN(coef, t.full, t.p, &t.tbl, out, stride)
	case 1:
		out[0] = clampPix(float32(float32(coef[0])*t.tbl[0])/8 + 128)
	}
}

// inverseDCT writes every stored block of c into plane, rows of blocks
// shared among the CPUs.
func (d *decoder) inverseDCT(c *component, plane []byte, stride int) {
	t := d.tables(c)
	p := t.p
	rows := c.bh
	workers := min(runtime.GOMAXPROCS(0), 8, max(1, rows/8))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		y0, y1 := rows*w/workers, rows*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ws [64]float32
			for by := y0; by < y1; by++ {
				for bx := 0; bx < c.bw; bx++ {
					i := by*c.bw + bx
					t.block(c.coef[i*d.stride:i*d.stride+d.stride], plane[by*p*stride+bx*p:], stride, &ws)
				}
			}
		}()
	}
	wg.Wait()
}

// aanScale[k] is the AAN algorithm's per-frequency scale: 1 for k = 0,
// cos(k pi/16) * sqrt 2 otherwise.
var aanScale = func() (s [8]float64) {
	for k := range s {
		s[k] = 1
		if k > 0 {
			s[k] = math.Cos(float64(k)*math.Pi/16) * math.Sqrt2
		}
	}
	return s
}()

// clampPix rounds v to a pixel value. The clamp is on integers (min and
// max compile to conditional moves; pixels are a coin toss for a branch
// predictor). Values are bounded by the dequantised coefficients, far
// inside int32.
func clampPix(v float32) byte {
	return byte(min(max(int32(v+0.5), 0), 255))
}

// idct8 is the full 8x8 inverse transform (Arai, Agui and Nakajima's
// factorisation), columns first; a column whose AC coefficients are all zero
// is a constant and skips the butterflies.
func idct8(coef []int16, tbl, ws *[64]float32, out []byte, stride int) {
	coef = coef[:64]
	for i := 0; i < 8; i++ {
		c1, c2, c3, c4, c5, c6, c7 := coef[8+i], coef[16+i], coef[24+i], coef[32+i], coef[40+i], coef[48+i], coef[56+i]
		if c1|c2|c3|c4|c5|c6|c7 == 0 {
			dc := float32(float32(coef[i]) * tbl[i])
			for k := 0; k < 8; k++ {
				ws[8*k+i] = dc
			}
			continue
		}
		aanColumn(
			float32(float32(coef[i])*tbl[i]), float32(float32(c1)*tbl[8+i]), float32(float32(c2)*tbl[16+i]), float32(float32(c3)*tbl[24+i]),
			float32(float32(c4)*tbl[32+i]), float32(float32(c5)*tbl[40+i]), float32(float32(c6)*tbl[48+i]), float32(float32(c7)*tbl[56+i]),
			ws[:], i, 8)
	}
	var row [64]float32
	for r := 0; r < 8; r++ {
		w := ws[8*r : 8*r+8]
		aanColumn(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], row[:], 8*r, 1)
		o := out[r*stride : r*stride+8]
		for x := range o {
			o[x] = clampPix(row[8*r+x] + 128)
		}
	}
}

// aanColumn is the 8-point inverse butterfly; results go to dst[at + k*step].
func aanColumn(t0, t4, t1, t5, t2, t6, t3, t7 float32, dst []float32, at, step int) {
	// Even part (inputs 0, 2, 4, 6 are t0, t1, t2, t3).
	tmp10, tmp11 := t0+t2, t0-t2
	tmp13 := t1 + t3
	tmp12 := float32(float32((t1-t3)*1.414213562) - tmp13)
	e0, e3 := tmp10+tmp13, tmp10-tmp13
	e1, e2 := tmp11+tmp12, tmp11-tmp12
	// Odd part (inputs 1, 3, 5, 7 are t4, t5, t6, t7).
	z13, z10 := t6+t5, t6-t5
	z11, z12 := t4+t7, t4-t7
	o7 := z11 + z13
	o11 := float32((z11 - z13) * 1.414213562)
	z5 := float32((z10 + z12) * 1.847759065)
	o10 := float32(float32(1.082392200*z12) - z5)
	o12 := float32(float32(-2.613125930*z10) + z5)
	o6 := o12 - o7
	o5 := o11 - o6
	o4 := o10 + o5
	dst[at] = e0 + o7
	dst[at+7*step] = e0 - o7
	dst[at+step] = e1 + o6
	dst[at+6*step] = e1 - o6
	dst[at+2*step] = e2 + o5
	dst[at+5*step] = e2 - o5
	dst[at+4*step] = e3 + o4
	dst[at+3*step] = e3 - o4
}

// idctN is the reduced N x N transform (N = 4 or 2). coef holds the whole
// block in natural order when full, else only its N x N corner.
func idctN(coef []int16, full bool, n int, tbl *[64]float32, out []byte, stride int) {
	at := func(u, v int) float32 {
		i := v*n + u
		if full {
			i = v*8 + u
		}
		return float32(float32(coef[i]) * tbl[v*8+u])
	}
	if n == 2 {
		a, b, c, d := at(0, 0), at(1, 0), at(0, 1), at(1, 1)
		// Both 2-point bases are +-1/(2 sqrt 2); in 2-D that is 1/8.
		s0, s1 := a+c, a-c // by rows y = 0, 1 (v summed)
		t0, t1 := b+d, b-d
		out[0] = clampPix(float32((s0+t0)*0.125) + 128)
		out[1] = clampPix(float32((s0-t0)*0.125) + 128)
		out[stride] = clampPix(float32((s1+t1)*0.125) + 128)
		out[stride+1] = clampPix(float32((s1-t1)*0.125) + 128)
		return
	}
	// N = 4: columns, then rows, with the even/odd split of the 4-point
	// basis (c_k/2 cos((2n+1)k pi/8)).
	const (
		k0 = 0.353553391 // 1/(2 sqrt 2), also 0.5 cos(pi/4)
		k1 = 0.461939766 // 0.5 cos(pi/8)
		k3 = 0.191341716 // 0.5 cos(3 pi/8)
	)
	var t [16]float32 // t[y*4+u]
	for u := 0; u < 4; u++ {
		x0, x1, x2, x3 := at(u, 0), at(u, 1), at(u, 2), at(u, 3)
		if x1 == 0 && x2 == 0 && x3 == 0 {
			v := float32(x0 * k0)
			t[u], t[4+u], t[8+u], t[12+u] = v, v, v, v
			continue
		}
		e0, e2 := float32(x0*k0), float32(x2*k0)
		ev0, ev1 := e0+e2, e0-e2
		o0 := float32(x1*k1) + float32(x3*k3)
		o1 := float32(x1*k3) - float32(x3*k1)
		t[u], t[12+u] = ev0+o0, ev0-o0
		t[4+u], t[8+u] = ev1+o1, ev1-o1
	}
	for y := 0; y < 4; y++ {
		x0, x1, x2, x3 := t[4*y], t[4*y+1], t[4*y+2], t[4*y+3]
		e0, e2 := float32(x0*k0), float32(x2*k0)
		ev0, ev1 := e0+e2, e0-e2
		o0 := float32(x1*k1) + float32(x3*k3)
		o1 := float32(x1*k3) - float32(x3*k1)
		o := out[y*stride : y*stride+4]
		o[0] = clampPix(ev0 + o0 + 128)
		o[3] = clampPix(ev0 - o0 + 128)
		o[1] = clampPix(ev1 + o1 + 128)
		o[2] = clampPix(ev1 - o1 + 128)
	}
}

// idct4 is the 4 x 4 reduced transform (1/2 scale), columns then rows, with
// the even/odd split of the 4-point basis (c_k/2 cos((2n+1)k pi/8)); a
// column whose higher frequencies are zero is a constant.
func idct4(coef []int16, t *idctTables, out []byte, stride int) {
	const (
		k0 = 0.353553391 // 1/(2 sqrt 2), also 0.5 cos(pi/4)
		k1 = 0.461939766 // 0.5 cos(pi/8)
		k3 = 0.191341716 // 0.5 cos(3 pi/8)
	)
	var f [16]float32
	if !t.full {
		c := coef[:16]
		for i := range f {
			f[i] = float32(float32(c[i]) * t.deq[i])
		}
	} else {
		for i := range f {
			f[i] = float32(float32(coef[t.idx[i]&63]) * t.deq[i])
		}
	}
	var w [16]float32 // after the vertical pass: w[y*4+u]
	for u := 0; u < 4; u++ {
		x0, x1, x2, x3 := f[u], f[4+u], f[8+u], f[12+u]
		if x1 == 0 && x2 == 0 && x3 == 0 {
			v := float32(x0 * k0)
			w[u], w[4+u], w[8+u], w[12+u] = v, v, v, v
			continue
		}
		e0, e2 := float32(x0*k0), float32(x2*k0)
		ev0, ev1 := e0+e2, e0-e2
		o0 := float32(x1*k1) + float32(x3*k3)
		o1 := float32(x1*k3) - float32(x3*k1)
		w[u], w[12+u] = ev0+o0, ev0-o0
		w[4+u], w[8+u] = ev1+o1, ev1-o1
	}
	for y := 0; y < 4; y++ {
		x0, x1, x2, x3 := w[4*y], w[4*y+1], w[4*y+2], w[4*y+3]
		e0, e2 := float32(x0*k0), float32(x2*k0)
		ev0, ev1 := e0+e2, e0-e2
		o0 := float32(x1*k1) + float32(x3*k3)
		o1 := float32(x1*k3) - float32(x3*k1)
		o := out[y*stride : y*stride+4]
		o[0] = clampPix(ev0 + o0 + 128)
		o[3] = clampPix(ev0 - o0 + 128)
		o[1] = clampPix(ev1 + o1 + 128)
		o[2] = clampPix(ev1 - o1 + 128)
	}
}
