package jpegdec

import "encoding/binary"

// Huffman decoding. Codes of up to lookBits (11) bits are found with one table
// lookup; AC codes whose value bits also fit are decoded whole (run, value
// and length from one lookup), which covers most coefficients of a photo.
// Longer codes walk the canonical code lengths.

const lookBits = 11

// eobRun is the run a fast entry gives for end of block.
const eobRun = 64

type huffTable struct {
	// lut[peek] = length<<8 | symbol for codes of length <= lookBits, 0 otherwise.
	lut [1 << lookBits]uint16
	// fast[peek] = value<<16 | run<<8 | total bits, for AC codes whose code
	// and value bits fit in lookBits (and for end of block, run eobRun, and
	// sixteen zeros, run 15 and value 0); 0 otherwise. value is signed.
	fast    [1 << lookBits]int32
	maxcode [18]int32 // largest code of each length, -1 if none
	valptr  [17]int32 // index in vals of the first code of each length
	mincode [17]int32
	vals    [256]byte
	nvals   int
}

func (d *decoder) readDHT(s []byte) error {
	for len(s) > 0 {
		if len(s) < 17 {
			return FormatError("short Huffman table")
		}
		class, id := s[0]>>4, int(s[0]&15)
		if class > 1 || id > 3 {
			return FormatError("bad Huffman table id")
		}
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(s[l])
			total += counts[l]
		}
		if total == 0 || total > 256 || len(s) < 17+total {
			return FormatError("bad Huffman table")
		}
		t := &d.dc[id]
		if class == 1 {
			t = &d.ac[id]
			d.haveAC[id] = true
		} else {
			d.haveDC[id] = true
		}
		*t = huffTable{}
		copy(t.vals[:], s[17:17+total])
		t.nvals = total
		if err := t.build(counts, class == 1); err != nil {
			return err
		}
		s = s[17+total:]
	}
	return nil
}

func (t *huffTable) build(counts [17]int, ac bool) error {
	code := int32(0)
	k := 0
	for l := 1; l <= 16; l++ {
		t.valptr[l] = int32(k)
		t.mincode[l] = code
		code += int32(counts[l])
		k += counts[l]
		if counts[l] > 0 {
			t.maxcode[l] = code - 1
		} else {
			t.maxcode[l] = -1
		}
		if code > 1<<l {
			return FormatError("Huffman code lengths overflow")
		}
		code <<= 1
	}
	t.maxcode[17] = 1 << 30 // sentinel
	// Fill the lookup tables.
	k = 0
	c := 0
	for l := 1; l <= 16; l++ {
		for i := 0; i < counts[l]; i, k, c = i+1, k+1, c+1 {
			if l > lookBits {
				continue
			}
			sym := t.vals[k]
			shift := lookBits - l
			for j := 0; j < 1<<shift; j++ {
				idx := c<<shift | j
				t.lut[idx] = uint16(l)<<8 | uint16(sym)
				if !ac {
					continue
				}
				run, size := int(sym>>4), int(sym&15)
				switch {
				case sym == 0x00: // end of block: a run past the last coefficient
					t.fast[idx] = int32(eobRun)<<8 | int32(l)
					continue
				case sym == 0xF0: // sixteen zeros: a run of 15 and a zero
					t.fast[idx] = 15<<8 | int32(l)
					continue
				}
				if size == 0 || l+size > lookBits {
					continue
				}
				// The value bits follow the code inside the lookup window.
				bits := (idx >> (lookBits - l - size)) & (1<<size - 1)
				v := int32(bits)
				if bits < 1<<(size-1) {
					v -= 1<<size - 1
				}
				t.fast[idx] = v<<16 | int32(run)<<8 | int32(l+size)
			}
		}
		c <<= 1
	}
	return nil
}

// bitReader reads the entropy-coded data of a scan: bytes with 0xFF00
// unstuffed, bits most significant first. At a marker (or the end of the
// data) it feeds zeros, as libjpeg does, and remembers that it did.
type bitReader struct {
	data []byte
	pos  int
	acc  uint64 // valid bits left-aligned
	n    uint
	// pad counts zero bits fed after the data ended or a marker was met.
	pad    uint
	atEOF  bool // the file ended inside the scan
	marker bool // stopped at a marker
}

func (r *bitReader) fill() {
	// Fast path: the next eight bytes hold no 0xFF (so no stuffing and no
	// marker), and as many whole bytes as fit go in at once.
	if r.n <= 56 && !r.marker && r.pos+8 <= len(r.data) {
		w := binary.BigEndian.Uint64(r.data[r.pos:])
		if x := ^w; (x-0x0101010101010101)&^x&0x8080808080808080 == 0 {
			k := (64 - r.n) / 8
			r.acc |= w >> (64 - 8*k) << (64 - r.n - 8*k)
			r.pos += int(k)
			r.n += 8 * k
			return
		}
	}
	for r.n <= 56 {
		if r.marker || r.pos >= len(r.data) {
			if r.pos >= len(r.data) && !r.marker {
				r.atEOF = true
			}
			r.n += 8
			r.pad += 8
			continue
		}
		c := r.data[r.pos]
		if c == 0xFF {
			if r.pos+1 < len(r.data) && r.data[r.pos+1] == 0 {
				r.pos += 2
			} else if r.pos+1 >= len(r.data) {
				r.pos++
				r.atEOF = true
				continue
			} else {
				r.marker = true
				continue
			}
		} else {
			r.pos++
		}
		r.acc |= uint64(c) << (56 - r.n)
		r.n += 8
	}
}

// overrun reports whether zero padding was consumed: the data ended before
// the scan did.
func (r *bitReader) overrun() bool { return r.pad > r.n }

func (r *bitReader) bits(k uint) int32 {
	if r.n < k {
		r.fill()
	}
	v := int32(r.acc >> (64 - k))
	r.acc <<= k
	r.n -= k
	return v
}

func (r *bitReader) bit() bool {
	if r.n < 1 {
		r.fill()
	}
	v := r.acc>>63 != 0
	r.acc <<= 1
	r.n--
	return v
}

// decode returns the next Huffman symbol.
func (r *bitReader) decode(t *huffTable) (byte, error) {
	if r.n < 16 {
		r.fill()
	}
	if e := t.lut[r.acc>>(64-lookBits)]; e != 0 {
		l := uint(e >> 8)
		r.acc <<= l
		r.n -= l
		return byte(e), nil
	}
	for l := uint(lookBits + 1); l <= 16; l++ {
		code := int32(r.acc >> (64 - l))
		if code <= t.maxcode[l] {
			r.acc <<= l
			r.n -= l
			i := t.valptr[l] + code - t.mincode[l]
			if i < 0 || int(i) >= t.nvals {
				return 0, FormatError("bad Huffman code")
			}
			return t.vals[i], nil
		}
	}
	return 0, FormatError("bad Huffman code")
}

// extend turns s value bits into a signed coefficient (JPEG F.2.2.1).
func extend(v int32, s uint) int32 {
	if v < 1<<(s-1) {
		return v - (1<<s - 1)
	}
	return v
}

// receive reads s value bits and extends them.
func (r *bitReader) receive(s uint) int32 {
	if s == 0 {
		return 0
	}
	return extend(r.bits(s), s)
}

// reset drops the bits of a restart interval and moves past its RSTn
// marker (searching for it if the data before it was damaged).
func (r *bitReader) reset() {
	r.acc, r.n, r.pad, r.marker = 0, 0, 0, false
	for r.pos+1 < len(r.data) {
		if r.data[r.pos] == 0xFF {
			m := r.data[r.pos+1]
			if m >= 0xD0 && m <= 0xD7 {
				r.pos += 2
				return
			}
			if m != 0 && m != 0xFF {
				return // another marker: the scan is over; leave it for the caller
			}
		}
		r.pos++
	}
}

// end moves the file position to the marker that ends the scan.
func (r *bitReader) end() int {
	p := r.pos
	for p+1 < len(r.data) {
		if r.data[p] == 0xFF && r.data[p+1] != 0 && !(r.data[p+1] >= 0xD0 && r.data[p+1] <= 0xD7) {
			return p
		}
		p++
	}
	return len(r.data)
}
