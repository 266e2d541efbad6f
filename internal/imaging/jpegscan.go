package imaging

import "sync"

// The encoder's entropy pass, specialised. It used to walk the blocks once
// with a callback per Huffman symbol for counting and again for writing;
// the calls cost more than the coding (a quarter of a 24 MP conversion).
// Counting now runs over the blocks in parallel (a DC difference needs only
// the block before, which is already quantised), and writing keeps its bit
// buffer in a register-sized word flushed 32 bits at a time.

// scanBlocks returns, for block k of the scan, the component and index of
// the block: 4 luma blocks then Cb and Cr per MCU, or luma only for grey.
func (s *jpegSource) scanLen() int {
	if s.gray {
		return s.nBlks[0]
	}
	return 6 * s.nBlks[1]
}

func (s *jpegSource) scanBlock(k int) (c, b int) {
	if s.gray {
		return 0, k
	}
	i, r := k/6, k%6
	if r < 4 {
		return 0, 4*i + r
	}
	return r - 3, i
}

// prevDC is the DC of the block of the same component coded before block
// b: 0 at the start of the scan and of each restart segment.
func (s *jpegSource) prevDC(qc [][]int16, c, b int) int32 {
	mcu, first := b, true
	if !s.gray && c == 0 {
		mcu, first = b/4, b%4 == 0
	}
	if b == 0 || first && mcu%s.restartInterval() == 0 {
		return 0
	}
	return int32(qc[c][64*(b-1)])
}

// restartInterval is the MCUs per restart segment. The scan is cut into
// whole rows of MCUs, two segments for a photo-sized image (more only when
// a segment would pass DRI's 65535 MCUs), so the two halves are written,
// and read back, on two cores. It depends on the image's size alone: the
// bytes must not depend on the machine.
func (s *jpegSource) restartInterval() int {
	n := s.mw * s.mh
	if n < 1024 {
		return n // one segment: no marker
	}
	segs := max(2, (n+65534)/65535)
	rows := (s.mh + segs - 1) / segs
	for rows*s.mw > 65535 {
		rows--
	}
	return rows * s.mw
}

// countFreq counts the Huffman symbols of the quantised blocks.
func (s *jpegSource) countFreq(qc [][]int16) [4][257]int {
	n := s.scanLen()
	parts := make(chan [4][257]int, 8)
	parallelRows(n, func(k0, k1 int) {
		var f [4][257]int
		for k := k0; k < k1; k++ {
			c, b := s.scanBlock(k)
			tbl := 0
			if c > 0 {
				tbl = 2
			}
			blk := qc[c][64*b : 64*b+64]
			sz, _ := magnitude(int32(blk[0]) - s.prevDC(qc, c, b))
			f[tbl][sz]++
			run := 0
			for i := 1; i < 64; i++ {
				v := blk[i]
				if v == 0 {
					run++
					continue
				}
				for run > 15 {
					f[tbl+1][0xF0]++
					run -= 16
				}
				sz, _ := magnitude(int32(v))
				f[tbl+1][run<<4|sz]++
				run = 0
			}
			if run > 0 {
				f[tbl+1][0]++
			}
		}
		parts <- f
	})
	close(parts)
	var freq [4][257]int
	for f := range parts {
		for t := range f {
			for i, v := range f[t] {
				freq[t][i] += v
			}
		}
	}
	return freq
}

// writeScan appends the entropy-coded scan to out, MCU by MCU, each
// restart segment on its own goroutine, joined with RSTn markers.
func (s *jpegSource) writeScan(qc [][]int16, codes *[4][256]uint16, lens *[4][256]uint8, out []byte) []byte {
	n := s.mw * s.mh
	ri := s.restartInterval()
	segs := (n + ri - 1) / ri
	parts := make([][]byte, segs)
	var wg sync.WaitGroup
	for g := 0; g < segs; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[g] = s.writeSegment(qc, codes, lens, g*ri, min(n, (g+1)*ri))
		}()
	}
	wg.Wait()
	for g, p := range parts {
		if g > 0 {
			out = append(out, 0xFF, byte(0xD0+(g-1)%8))
		}
		out = append(out, p...)
	}
	return out
}

// writeSegment codes MCUs [m0, m1), its DC predictions starting from zero.
func (s *jpegSource) writeSegment(qc [][]int16, codes *[4][256]uint16, lens *[4][256]uint8, m0, m1 int) []byte {
	w := scanWriter{buf: make([]byte, 0, (m1-m0)*64)}
	var prev [3]int32
	block := func(blk []int16, c int) {
		blk = blk[:64]
		tbl := 0
		if c > 0 {
			tbl = 2
		}
		dc, ac := &codes[tbl], &codes[tbl+1]
		dl, al := &lens[tbl], &lens[tbl+1]
		sz, e := magnitude(int32(blk[0]) - prev[c])
		prev[c] = int32(blk[0])
		// A code and its extra bits go out together (at most 16 + 11 bits).
		w.put(uint32(dc[sz])<<uint(sz)|e, uint(dl[sz])+uint(sz))
		run := 0
		for i := 1; i < 64; i++ {
			v := blk[i]
			if v == 0 {
				run++
				continue
			}
			for run > 15 {
				w.put(uint32(ac[0xF0]), uint(al[0xF0]))
				run -= 16
			}
			sz, e := magnitude(int32(v))
			sym := (run<<4 | sz) & 0xFF
			w.put(uint32(ac[sym])<<uint(sz)|e, uint(al[sym])+uint(sz))
			run = 0
		}
		if run > 0 {
			w.put(uint32(ac[0]), uint(al[0]))
		}
	}
	for i := m0; i < m1; i++ {
		if s.gray {
			block(qc[0][64*i:], 0)
			continue
		}
		for k := 0; k < 4; k++ {
			block(qc[0][64*(4*i+k):], 0)
		}
		block(qc[1][64*i:], 1)
		block(qc[2][64*i:], 2)
	}
	return w.finish()
}

// scanWriter packs bits most significant first, stuffing a zero after
// every 0xFF byte.
type scanWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *scanWriter) put(v uint32, k uint) {
	w.acc = w.acc<<k | uint64(v)&(1<<k-1)
	w.n += k
	if w.n >= 32 {
		w.flush32()
	}
}

func (w *scanWriter) flush32() {
	for w.n >= 8 {
		b := byte(w.acc >> (w.n - 8))
		w.buf = append(w.buf, b)
		if b == 0xFF {
			w.buf = append(w.buf, 0)
		}
		w.n -= 8
	}
}

// finish pads the last byte with ones and returns the bytes.
func (w *scanWriter) finish() []byte {
	if w.n%8 != 0 {
		pad := 8 - w.n%8
		w.acc = w.acc<<pad | (1<<pad - 1)
		w.n += pad
	}
	w.flush32()
	return w.buf
}
