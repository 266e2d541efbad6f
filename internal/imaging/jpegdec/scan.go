package jpegdec

import (
	"bytes"
	"io"
	"runtime"
	"sync"
)

// readScan decodes one scan (JPEG Annex G for progressive scans) into the
// components' coefficient stores.
func (d *decoder) readScan(s []byte) error {
	if len(s) < 1 {
		return FormatError("short scan header")
	}
	ns := int(s[0])
	if ns < 1 || ns > 4 || len(s) != 4+2*ns {
		return FormatError("bad scan header")
	}
	scomps := make([]*component, ns)
	for i := 0; i < ns; i++ {
		id, tables := s[1+2*i], s[2+2*i]
		var c *component
		for j := range d.comps {
			if d.comps[j].id == id {
				c = &d.comps[j]
			}
		}
		if c == nil {
			return FormatError("scan names an unknown component")
		}
		for _, o := range scomps[:i] {
			if o == c {
				return FormatError("component repeated in a scan")
			}
		}
		c.td, c.ta = int(tables>>4), int(tables&15)
		if c.td > 3 || c.ta > 3 {
			return FormatError("bad Huffman table selector")
		}
		scomps[i] = c
	}
	ss, se := int(s[1+2*ns]), int(s[2+2*ns])
	ah, al := uint(s[3+2*ns]>>4), uint(s[3+2*ns]&15)
	if d.progressive {
		if ss > se || se > 63 || (ss == 0 && se != 0) || (ss > 0 && ns != 1) || al > 13 || ah > 13 {
			return FormatError("bad progressive scan parameters")
		}
	} else if ss != 0 || se != 63 || ah != 0 || al != 0 {
		// Baseline files are written with these; tolerate the few writers
		// that put other values in (libjpeg ignores them too).
		ss, se, ah, al = 0, 63, 0, 0
	}
	// Sampling blocks per MCU must fit the standard's limit.
	if ns > 1 {
		total := 0
		for _, c := range scomps {
			total += c.h * c.v
		}
		if total > 10 {
			return FormatError("too many blocks per MCU")
		}
	}
	if d.planes == nil {
		if err := d.layout(); err != nil {
			return err
		}
	}
	stream := !d.progressive && d.scans == 0 && ns == len(d.comps)
	if d.stride == 0 {
		d.stride = 64
		if !d.progressive {
			p := 8 / d.scale
			d.stride = p * p
		}
		if !stream {
			var total int64
			for i := range d.comps {
				total += 2 * int64(d.comps[i].bw) * int64(d.comps[i].bh) * int64(d.stride)
			}
			if d.maxAlloc > 0 && total > d.maxAlloc {
				return ErrTooLarge
			}
			for i := range d.comps {
				c := &d.comps[i]
				c.coef = make([]int16, c.bw*c.bh*d.stride)
			}
		}
	}
	if stream != (d.comps[0].coef == nil) {
		return FormatError("scans do not match the frame")
	}
	for _, c := range scomps {
		// A component's DC must come before its AC bands (G.1.1.1.1); an
		// AC scan first means a file built to be expanded, not a photo.
		if d.progressive {
			if ss == 0 && ah == 0 {
				c.dcDone = true
			} else if !c.dcDone {
				return FormatError("AC scan before the component's first DC scan")
			}
		}
		if ss == 0 && ah == 0 && !d.haveDC[c.td] {
			return FormatError("missing DC Huffman table")
		}
		if se > 0 && !d.haveAC[c.ta] {
			return FormatError("missing AC Huffman table")
		}
		c.pred = 0
	}
	d.scans++
	r := &bitReader{data: d.b, pos: d.pos}
	var err error
	switch {
	case stream:
		d.streamed = true
		err = d.streamScan(r, scomps)
	case !d.progressive:
		err = d.sequential(r, scomps)
	case ss == 0 && ah == 0:
		err = d.dcFirst(r, scomps, al)
	case ss == 0:
		err = d.dcRefine(r, scomps, al)
	case ah == 0:
		err = d.acFirst(r, scomps[0], ss, se, al)
	default:
		err = d.acRefine(r, scomps[0], ss, se, al)
	}
	if err != nil {
		return err
	}
	if r.atEOF && r.overrun() {
		return io.ErrUnexpectedEOF
	}
	d.pos = r.end()
	return nil
}

// forEachBlock calls f for every block of a scan in coding order: MCU by MCU
// for an interleaved scan, the component's own raster for a single one, with
// restart intervals handled between units.
func (d *decoder) forEachBlock(r *bitReader, scomps []*component, f func(c *component, blk int) error) error {
	restart := func() {
		r.reset()
		for _, c := range scomps {
			c.pred = 0
		}
		d.eobrun = 0
	}
	units := 0
	if len(scomps) == 1 {
		c := scomps[0]
		for by := 0; by < c.ch; by++ {
			for bx := 0; bx < c.cw; bx++ {
				if d.ri > 0 && units > 0 && units%d.ri == 0 {
					restart()
				}
				if err := f(c, by*c.bw+bx); err != nil {
					return err
				}
				units++
			}
		}
		d.decoded += units
		return nil
	}
	for my := 0; my < d.mcuy; my++ {
		for mx := 0; mx < d.mcux; mx++ {
			if d.ri > 0 && units > 0 && units%d.ri == 0 {
				restart()
			}
			for _, c := range scomps {
				for v := 0; v < c.v; v++ {
					row := (my*c.v + v) * c.bw
					for h := 0; h < c.h; h++ {
						if err := f(c, row+mx*c.h+h); err != nil {
							return err
						}
					}
				}
			}
			units++
		}
		if r.atEOF && r.overrun() {
			return io.ErrUnexpectedEOF
		}
	}
	d.decoded += units
	return nil
}

// sequential decodes a baseline (or extended sequential) scan. Only the
// coefficients the reduced inverse DCT reads are stored; the rest are
// decoded and dropped.
func (d *decoder) sequential(r *bitReader, scomps []*component) error {
	d.needed = 0
	for _, c := range scomps {
		if len(scomps) == 1 {
			d.needed += c.cw * c.ch
		}
	}
	if len(scomps) > 1 {
		d.needed = d.mcux * d.mcuy
	}
	d.decoded = 0
	p := 8 / d.scale
	// keep[k] is the store index of zigzag coefficient k, or -1: dropped.
	var keep [64]int8
	for k := 0; k < 64; k++ {
		n := zigzag[k]
		if u, v := n%8, n/8; u < p && v < p {
			keep[k] = int8(v*p + u)
		} else {
			keep[k] = -1
		}
	}
	return d.forEachBlock(r, scomps, func(c *component, blk int) error {
		return r.block(&d.dc[c.td], &d.ac[c.ta], &c.pred, c.coef[blk*d.stride:blk*d.stride+d.stride], &keep)
	})
}

// block decodes one sequential block into dst (the kept coefficients).
// The reader's state lives in locals while the block is decoded.
func (r *bitReader) block(dct, act *huffTable, pred *int32, dst []int16, keep *[64]int8) error {
	s, err := r.decode(dct)
	if err != nil {
		return err
	}
	if s > 11 {
		return FormatError("bad DC difference size")
	}
	*pred += r.receive(uint(s))
	dst[0] = int16(*pred)
	acc, n := r.acc, r.n
	for k := 1; k < 64; {
		if n < lookBits {
			r.acc, r.n = acc, n
			r.fill()
			acc, n = r.acc, r.n
		}
		if e := act.fast[acc>>(64-lookBits)]; e != 0 {
			// The masks tell the compiler the shift is below 64 and the
			// index below 64, so neither is checked again.
			l := uint(e) & 63
			acc <<= l
			n -= l
			k += int(e>>8) & 0xFF
			if k > 63 {
				if int(e>>8)&0xFF == eobRun {
					break
				}
				return FormatError("coefficient index past 63")
			}
			if i := keep[k&63]; i >= 0 {
				dst[i] = int16(e >> 16)
			}
			k++
			continue
		}
		r.acc, r.n = acc, n
		rs, err := r.decode(act)
		if err != nil {
			return err
		}
		run, size := int(rs>>4), uint(rs&15)
		if size == 0 {
			acc, n = r.acc, r.n
			if run != 15 {
				break // end of block
			}
			k += 16
			continue
		}
		k += run
		if k > 63 {
			return FormatError("coefficient index past 63")
		}
		v := r.receive(size)
		acc, n = r.acc, r.n
		if i := keep[k]; i >= 0 {
			dst[i] = int16(v)
		}
		k++
	}
	r.acc, r.n = acc, n
	return nil
}

// dcFirst is the first DC scan of a progressive file: differences, shifted
// up by the point transform.
func (d *decoder) dcFirst(r *bitReader, scomps []*component, al uint) error {
	return d.forEachBlock(r, scomps, func(c *component, blk int) error {
		s, err := r.decode(&d.dc[c.td])
		if err != nil {
			return err
		}
		if s > 11 {
			return FormatError("bad DC difference size")
		}
		c.pred += r.receive(uint(s))
		c.coef[blk*64] = int16(c.pred << al)
		return nil
	})
}

// dcRefine adds one more bit of every DC coefficient.
func (d *decoder) dcRefine(r *bitReader, scomps []*component, al uint) error {
	return d.forEachBlock(r, scomps, func(c *component, blk int) error {
		if r.bit() {
			c.coef[blk*64] |= 1 << al
		}
		return nil
	})
}

// acFirst is a first AC scan: one band of one component, with end-of-band
// runs spanning blocks.
func (d *decoder) acFirst(r *bitReader, c *component, ss, se int, al uint) error {
	t := &d.ac[c.ta]
	return d.forEachBlock(r, []*component{c}, func(c *component, blk int) error {
		if d.eobrun > 0 {
			d.eobrun--
			return nil
		}
		dst := c.coef[blk*64 : blk*64+64]
		for k := ss; k <= se; {
			rs, err := r.decode(t)
			if err != nil {
				return err
			}
			run, size := int(rs>>4), uint(rs&15)
			if size == 0 {
				if run < 15 {
					d.eobrun = 1<<run - 1
					if run > 0 {
						d.eobrun += int(r.bits(uint(run)))
					}
					break
				}
				k += 16
				continue
			}
			k += run
			if k > se {
				return FormatError("coefficient index past the band")
			}
			dst[zigzag[k]] = int16(r.receive(size) << al)
			k++
		}
		return nil
	})
}

// acRefine is a refinement AC scan (G.1.2.3): each coefficient already
// nonzero gets a correction bit; new coefficients of magnitude 1 << al are
// placed after runs of still-zero ones.
func (d *decoder) acRefine(r *bitReader, c *component, ss, se int, al uint) error {
	t := &d.ac[c.ta]
	p1, m1 := int16(1)<<al, int16(-1)<<al
	refine := func(v *int16) {
		if r.bit() && *v&p1 == 0 {
			if *v >= 0 {
				*v += p1
			} else {
				*v += m1
			}
		}
	}
	return d.forEachBlock(r, []*component{c}, func(c *component, blk int) error {
		dst := c.coef[blk*64 : blk*64+64]
		k := ss
		if d.eobrun == 0 {
			for ; k <= se; k++ {
				rs, err := r.decode(t)
				if err != nil {
					return err
				}
				run, size := int(rs>>4), int(rs&15)
				var val int16
				switch size {
				case 0:
					if run < 15 {
						d.eobrun = 1 << run
						if run > 0 {
							d.eobrun += int(r.bits(uint(run)))
						}
						goto band
					}
				case 1:
					val = p1
					if !r.bit() {
						val = m1
					}
				default:
					return FormatError("bad refinement coefficient size")
				}
				// Skip run zero coefficients (refining the nonzero ones met
				// on the way), then place val.
				for ; k <= se; k++ {
					v := &dst[zigzag[k]]
					if *v != 0 {
						refine(v)
						continue
					}
					if run == 0 {
						if val != 0 {
							*v = val
						}
						break
					}
					run--
				}
			}
		}
	band:
		if d.eobrun > 0 {
			// The rest of the band only refines.
			for ; k <= se; k++ {
				if v := &dst[zigzag[k]]; *v != 0 {
					refine(v)
				}
			}
			d.eobrun--
		}
		return nil
	})
}

// streamScan decodes a single interleaved sequential scan (nearly every
// camera and phone JPEG) one MCU row at a time: the entropy decoder fills a
// row of blocks while another goroutine runs the inverse DCT of the row
// before, so the two stages share the CPUs and no coefficient store for the
// whole image is needed.
func (d *decoder) streamScan(r *bitReader, scomps []*component) error {
	d.needed, d.decoded = d.mcux*d.mcuy, 0
	p := 8 / d.scale
	var keep [64]int8
	for k := 0; k < 64; k++ {
		n := zigzag[k]
		if u, v := n%8, n/8; u < p && v < p {
			keep[k] = int8(v*p + u)
		} else {
			keep[k] = -1
		}
	}
	type rowBuf struct {
		my   int
		coef [][]int16 // per scan component: c.v rows of c.bw blocks
	}
	tables := make([]*idctTables, len(scomps))
	planeOf := make([]int, len(scomps))
	for i, c := range scomps {
		tables[i] = d.tables(c)
		for j := range d.comps {
			if &d.comps[j] == c {
				planeOf[i] = j
			}
		}
	}
	newBuf := func() *rowBuf {
		b := &rowBuf{coef: make([][]int16, len(scomps))}
		for i, c := range scomps {
			b.coef[i] = make([]int16, c.v*c.bw*d.stride)
		}
		return b
	}
	transform := func(b *rowBuf, ws *[64]float32) {
		for i, c := range scomps {
			plane, stride := d.planes[planeOf[i]], d.strides[planeOf[i]]
			for v := 0; v < c.v; v++ {
				by := b.my*c.v + v
				for bx := 0; bx < c.bw; bx++ {
					k := (v*c.bw + bx) * d.stride
					tables[i].block(b.coef[i][k:k+d.stride], plane[by*p*stride+bx*p:], stride, ws)
				}
			}
		}
	}
	// Restart segments of whole MCU rows (what many cameras write, and
	// what our encoder writes) are decoded side by side, one goroutine a
	// segment, each with its own reader over its own bytes.
	if segs := d.rowSegments(r.pos); segs != nil && runtime.GOMAXPROCS(0) > 1 {
		rows := d.ri / d.mcux
		errs := make([]error, len(segs))
		readers := make([]*bitReader, len(segs))
		var wg sync.WaitGroup
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		for g, seg := range segs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				sr := &bitReader{data: d.b[:seg[1]], pos: seg[0]}
				readers[g] = sr
				b := newBuf()
				var ws [64]float32
				var pred [4]int32
				for my := g * rows; my < min(d.mcuy, (g+1)*rows); my++ {
					b.my = my
					for i := range b.coef {
						clear(b.coef[i])
					}
					for mx := 0; mx < d.mcux; mx++ {
						for i, c := range scomps {
							dct, act := &d.dc[c.td], &d.ac[c.ta]
							for v := 0; v < c.v; v++ {
								for h := 0; h < c.h; h++ {
									k := (v*c.bw + mx*c.h + h) * d.stride
									if err := sr.block(dct, act, &pred[i], b.coef[i][k:k+d.stride], &keep); err != nil {
										errs[g] = err
										return
									}
								}
							}
						}
					}
					transform(b, &ws)
				}
				if sr.overrun() {
					errs[g] = FormatError("restart segment shorter than its MCUs")
					if sr.atEOF && g == len(segs)-1 {
						errs[g] = io.ErrUnexpectedEOF
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		last := readers[len(readers)-1]
		r.pos, r.atEOF = last.pos, last.atEOF
		d.decoded = d.mcux * d.mcuy
		d.segments += len(segs)
		return nil
	}
	parallel := runtime.GOMAXPROCS(0) > 1 && d.mcuy > 4
	var work, free chan *rowBuf
	done := make(chan struct{})
	if parallel {
		work, free = make(chan *rowBuf, 2), make(chan *rowBuf, 3)
		for range 3 {
			free <- newBuf()
		}
		go func() {
			defer close(done)
			var ws [64]float32
			for b := range work {
				transform(b, &ws)
				free <- b
			}
		}()
	}
	var ws [64]float32
	one := newBuf()
	units := 0
	var err error
rows:
	for my := 0; my < d.mcuy; my++ {
		b := one
		if parallel {
			b = <-free
		}
		b.my = my
		for i := range b.coef {
			clear(b.coef[i])
		}
		for mx := 0; mx < d.mcux; mx++ {
			if d.ri > 0 && units > 0 && units%d.ri == 0 {
				r.reset()
				for _, c := range scomps {
					c.pred = 0
				}
			}
			for i, c := range scomps {
				dct, act := &d.dc[c.td], &d.ac[c.ta]
				for v := 0; v < c.v; v++ {
					for h := 0; h < c.h; h++ {
						k := (v*c.bw + mx*c.h + h) * d.stride
						if err = r.block(dct, act, &c.pred, b.coef[i][k:k+d.stride], &keep); err != nil {
							break rows
						}
					}
				}
			}
			units++
		}
		if r.atEOF && r.overrun() {
			err = io.ErrUnexpectedEOF
			break
		}
		if parallel {
			work <- b
		} else {
			transform(b, &ws)
		}
	}
	if parallel {
		close(work)
		<-done
	}
	d.decoded = units
	return err
}

// rowSegments finds the restart segments of an interleaved sequential scan
// starting at pos, when each is a whole number of MCU rows: their [start,
// end) byte ranges, or nil (no restarts, other intervals, or markers that
// do not match the rows, which the serial decoder then handles).
func (d *decoder) rowSegments(pos int) [][2]int {
	if d.ri == 0 || d.ri%d.mcux != 0 {
		return nil
	}
	rows := d.ri / d.mcux
	want := (d.mcuy + rows - 1) / rows
	if want < 2 {
		return nil
	}
	b := d.b
	var segs [][2]int
	start := pos
	for i := pos; i+1 < len(b); {
		j := bytes.IndexByte(b[i:len(b)-1], 0xFF)
		if j < 0 {
			break
		}
		i += j
		m := b[i+1]
		switch {
		case m == 0:
			i += 2
			continue
		case m >= 0xD0 && m <= 0xD7:
			if m != byte(0xD0+len(segs)%8) {
				return nil
			}
			segs = append(segs, [2]int{start, i})
			start = i + 2
			i += 2
			continue
		case m == 0xFF:
			i++
			continue
		}
		// Another marker: the scan ends here.
		segs = append(segs, [2]int{start, i})
		break
	}
	if len(segs) != want {
		return nil
	}
	return segs
}
