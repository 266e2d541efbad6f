package imaging

import (
	"bytes"
	"errors"
	"io"
	"sort"
)

// pdfDoc is a PDF read from end to end: every object in file order (also
// those in object streams and those no cross-reference points at: a safety
// check must see what any reader might find), and the trailer dictionaries
// (classic trailers and cross-reference stream dictionaries).
type pdfDoc struct {
	b        []byte
	objs     map[int]pdfDef // the definition a reader uses: the last in file order
	all      []pdfDef       // every definition, in file order, ObjStm members included
	trailers []pdfDict
	// unchecked names object streams that could not be decoded, so their
	// members could not be checked.
	unchecked int
}

type pdfDef struct {
	num int
	at  int // file offset of the object (of its object stream for members)
	v   any
}

// pdfLimits bound the work a hostile PDF can cause.
const (
	pdfMaxObjects  = 1 << 20
	pdfMaxInflated = 64 << 20 // bytes of object streams inflated for the checks
)

// errPDFTruncated marks a file that ends before its last "%%EOF".
var errPDFTruncated = errors.New("pdf: no %%EOF at the end")

// errPDFJunk marks bytes outside the PDF: before its header or after its
// last %%EOF (polyglots: a file that is also a web page, script or archive).
type errPDFJunk struct{ where string }

func (e errPDFJunk) Error() string { return "pdf: data " + e.where }

// parsePDF reads the whole file. It accepts only the PDF syntax from the
// header to the last %%EOF: objects, xref tables, trailers, startxref and
// comments; anything else (stray bytes, an HTML page between objects) is an
// error, so nothing can hide between the parts a reader looks at.
func parsePDF(b []byte) (*pdfDoc, error) {
	if !pdfHeader(b) {
		if i := bytes.Index(b[:min(len(b), 1024)], []byte("%PDF-")); i > 0 {
			return nil, errPDFJunk{"before the PDF header"}
		}
		return nil, &pdfSyntaxError{0, "no PDF header"}
	}
	last := bytes.LastIndex(b, []byte("%%EOF"))
	if last < 0 {
		return nil, errPDFTruncated
	}
	end := last + 5
	if !allPDFSpace(b[end:]) {
		return nil, errPDFJunk{"after the end of the PDF"}
	}
	d := &pdfDoc{b: b, objs: map[int]pdfDef{}}
	l := &pdfLexer{b: b[:end]}
	l.skip() // the header and binary-marker comments
	var pendingLen []pendingLength
	for {
		l.skip()
		if l.pos >= len(l.b) {
			break
		}
		at := l.pos
		switch {
		case l.keyword("xref"):
			if err := l.xrefTable(); err != nil {
				return nil, err
			}
		case l.keyword("trailer"):
			v, err := l.value(0, false)
			if err != nil {
				return nil, err
			}
			t, ok := v.(pdfDict)
			if !ok {
				return nil, l.fail("trailer is not a dictionary")
			}
			d.trailers = append(d.trailers, t)
		case l.keyword("startxref"):
			if _, ok := l.integer(); !ok {
				return nil, l.fail("startxref without an offset")
			}
		default:
			num, ok := l.integer()
			if !ok {
				return nil, l.fail("unexpected content between objects")
			}
			gen, ok := l.integer()
			if !ok || !l.keyword("obj") {
				return nil, l.fail("object header expected")
			}
			v, pl, err := l.indirect()
			if err != nil {
				return nil, err
			}
			if num >= 1<<31 || gen >= 1<<16 {
				return nil, &pdfSyntaxError{at, "object number out of range"}
			}
			if pl != nil {
				pendingLen = append(pendingLen, *pl)
			}
			d.add(pdfDef{num: int(num), at: at, v: v})
			if len(d.all) > pdfMaxObjects {
				return nil, l.fail("too many objects")
			}
		}
	}
	if l.eofEnd != end {
		return nil, errPDFTruncated
	}
	if err := d.expandObjectStreams(); err != nil {
		return nil, err
	}
	// A stream whose /Length is a reference was cut at "endstream"; the
	// referenced number may fall short of it (a writer's slip) but must not
	// reach past it.
	for _, p := range pendingLen {
		n, ok := pdfInt(d.resolve(p.ref))
		switch {
		case ok && lengthMatches(p.s.raw, n):
			p.s.raw = p.s.raw[:n]
		case ok && secondEnd(b, p.at, len(p.s.raw), n):
			return nil, errPDFJunk{"inside a stream"}
		default:
			p.s.raw = bytes.TrimSuffix(bytes.TrimSuffix(p.s.raw, []byte("\n")), []byte("\r"))
		}
	}
	for _, def := range d.all {
		if s, ok := def.v.(*pdfStream); ok && s.dict["Type"] == pdfName("XRef") {
			d.trailers = append(d.trailers, s.dict)
		}
	}
	return d, nil
}

func pdfHeader(b []byte) bool {
	return len(b) >= 8 && string(b[:5]) == "%PDF-" && (b[5] == '1' || b[5] == '2') && b[6] == '.' && b[7] >= '0' && b[7] <= '9'
}

// lengthMatches: the stream data found by searching for "endstream" may
// carry the end-of-line marker that precedes the keyword.
func lengthMatches(raw []byte, n int64) bool {
	if n < 0 || n > int64(len(raw)) {
		return false
	}
	rest := raw[n:]
	return len(rest) == 0 || string(rest) == "\n" || string(rest) == "\r\n" || string(rest) == "\r"
}

// secondEnd reports whether a stream whose data starts at start, and whose
// first "endstream" is found end bytes later, has a /Length n reaching past
// that keyword to another "endstream": the data then means one thing to a
// reader that trusts /Length and another to one that searches.
func secondEnd(b []byte, start, end int, n int64) bool {
	if n <= int64(end) || int64(start)+n > int64(len(b)) {
		return false
	}
	i := start + int(n)
	for k := 0; k < 2 && i < len(b) && isPDFSpace(b[i]); k++ {
		i++
	}
	return bytes.HasPrefix(b[i:], []byte("endstream"))
}

type pendingLength struct {
	s   *pdfStream
	ref pdfRef
	at  int
}

func (d *pdfDoc) add(def pdfDef) {
	d.all = append(d.all, def)
	if old, ok := d.objs[def.num]; !ok || def.at >= old.at {
		d.objs[def.num] = def
	}
}

// xrefTable passes over a classic cross-reference table: subsection headers
// and 20-byte entries. Offsets are not needed (every object was read in
// file order), but the table must be well formed.
func (l *pdfLexer) xrefTable() error {
	for {
		save := l.pos
		start, ok1 := l.integer()
		count, ok2 := l.integer()
		if !ok1 || !ok2 {
			l.pos = save
			return nil
		}
		if start < 0 || count < 0 || count > int64(len(l.b)-l.pos)/18+1 {
			return l.fail("bad xref subsection")
		}
		for range count {
			_, ok1 := l.integer()
			_, ok2 := l.integer()
			if !ok1 || !ok2 || !(l.keyword("n") || l.keyword("f")) {
				return l.fail("bad xref entry")
			}
		}
	}
}

// indirect parses the body of "n g obj ... endobj": a value, or a stream.
func (l *pdfLexer) indirect() (any, *pendingLength, error) {
	v, err := l.value(0, false)
	if err != nil {
		return nil, nil, err
	}
	var pl *pendingLength
	if dict, ok := v.(pdfDict); ok && l.keyword("stream") {
		s := &pdfStream{dict: dict}
		if l.pos < len(l.b) && l.b[l.pos] == '\r' {
			l.pos++
		}
		if l.pos < len(l.b) && l.b[l.pos] == '\n' {
			l.pos++
		}
		start := l.pos
		s.off = start
		// The data ends at the first "endstream". Readers that trust /Length
		// and readers that search for the keyword (as most do when /Length
		// is wrong) must see the same objects, so a /Length reaching past
		// that keyword means the data hides a second end: refused. A short
		// or missing /Length is a writer's slip and is tolerated.
		i := bytes.Index(l.b[start:], []byte("endstream"))
		if i < 0 {
			return nil, nil, l.fail("stream without endstream")
		}
		s.raw = bytes.TrimSuffix(bytes.TrimSuffix(l.b[start:start+i], []byte("\n")), []byte("\r"))
		l.pos = start + i
		switch n := dict["Length"].(type) {
		case int64:
			if secondEnd(l.b, start, i, n) {
				return nil, nil, errPDFJunk{"inside a stream"}
			}
			if lengthMatches(l.b[start:start+i], n) {
				s.raw = l.b[start : start+int(n)]
			}
		case pdfRef:
			pl = &pendingLength{s: s, ref: n, at: start}
			s.raw = l.b[start : start+i]
		}
		if !l.keyword("endstream") {
			return nil, nil, l.fail("endstream expected")
		}
		v = s
	}
	if !l.keyword("endobj") {
		return nil, nil, l.fail("endobj expected")
	}
	return v, pl, nil
}

// expandObjectStreams reads the members of every object stream (PDF 1.5+
// writers put most dictionaries there, page tree and actions included).
// Members are parsed with the same parser; an object stream that cannot be
// decoded is counted in unchecked, and the caller refuses the file.
func (d *pdfDoc) expandObjectStreams() error {
	budget := pdfMaxInflated
	n := len(d.all)
	for i := 0; i < n; i++ {
		def := d.all[i]
		s, ok := def.v.(*pdfStream)
		if !ok || s.dict["Type"] != pdfName("ObjStm") {
			continue
		}
		data, err := decodeStream(d, s, budget)
		if err != nil {
			d.unchecked++
			continue
		}
		budget -= len(data)
		count, ok1 := pdfInt(s.dict["N"])
		first, ok2 := pdfInt(s.dict["First"])
		if !ok1 || !ok2 || count < 0 || count > int64(len(data)) || first < 0 || first > int64(len(data)) {
			return &pdfSyntaxError{def.at, "bad object stream header"}
		}
		hl := &pdfLexer{b: data[:first]}
		type member struct{ num, off int64 }
		ms := make([]member, 0, count)
		for range count {
			num, ok1 := hl.integer()
			off, ok2 := hl.integer()
			if !ok1 || !ok2 || first+off > int64(len(data)) || num >= 1<<31 {
				return &pdfSyntaxError{def.at, "bad object stream index"}
			}
			ms = append(ms, member{num, off})
		}
		for _, m := range ms {
			ml := &pdfLexer{b: data, pos: int(first + m.off)}
			v, err := ml.value(0, false)
			if err != nil {
				return err
			}
			if _, isStream := v.(*pdfStream); isStream {
				return &pdfSyntaxError{def.at, "stream inside an object stream"}
			}
			d.add(pdfDef{num: int(m.num), at: def.at, v: v})
		}
		if len(d.all) > pdfMaxObjects {
			return &pdfSyntaxError{def.at, "too many objects"}
		}
	}
	sort.SliceStable(d.all, func(i, j int) bool { return d.all[i].at < d.all[j].at })
	return nil
}

// resolve follows references (a bounded number of times) to a direct value.
func (d *pdfDoc) resolve(v any) any {
	for range 32 {
		r, ok := v.(pdfRef)
		if !ok {
			return v
		}
		def, ok := d.objs[r.num]
		if !ok {
			return nil
		}
		v = def.v
	}
	return nil
}

func (d *pdfDoc) dict(v any) pdfDict {
	switch x := d.resolve(v).(type) {
	case pdfDict:
		return x
	case *pdfStream:
		return x.dict
	}
	return nil
}

// trailer returns the dictionary a reader starts from: the last one with
// a /Root.
func (d *pdfDoc) trailer() pdfDict {
	for i := len(d.trailers) - 1; i >= 0; i-- {
		if _, ok := d.trailers[i]["Root"]; ok {
			return d.trailers[i]
		}
	}
	return nil
}

// pages walks the page tree from the catalog, depth first, carrying the
// inheritable attributes (ISO 32000 §7.7.3.4) into each page's dictionary
// copy. Cycles and absurd trees are errors.
func (d *pdfDoc) pages() ([]pdfDict, error) {
	t := d.trailer()
	if t == nil {
		return nil, errors.New("pdf: no trailer with a document catalog")
	}
	root := d.dict(t["Root"])
	if root == nil {
		return nil, errors.New("pdf: no document catalog")
	}
	var out []pdfDict
	seen := map[any]bool{}
	var walk func(node any, inherited pdfDict, depth int) error
	walk = func(node any, inherited pdfDict, depth int) error {
		if r, ok := node.(pdfRef); ok {
			if seen[r] {
				return errors.New("pdf: page tree loops")
			}
			seen[r] = true
		}
		n := d.dict(node)
		if n == nil || depth > 64 || len(out) > 100_000 {
			return errors.New("pdf: bad page tree")
		}
		attrs := pdfDict{}
		for k, v := range inherited {
			attrs[k] = v
		}
		for _, k := range []pdfName{"Resources", "MediaBox", "CropBox", "Rotate"} {
			if v, ok := n[k]; ok {
				attrs[k] = v
			}
		}
		kids, isTree := d.resolve(n["Kids"]).(pdfArray)
		if n["Type"] == pdfName("Pages") || isTree && n["Type"] != pdfName("Page") {
			for _, k := range kids {
				if err := walk(k, attrs, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		page := pdfDict{}
		for k, v := range n {
			page[k] = v
		}
		for k, v := range attrs {
			page[k] = v
		}
		out = append(out, page)
		return nil
	}
	if err := walk(root["Pages"], nil, 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("pdf: no pages")
	}
	return out, nil
}

// readAllLimited reads r up to limit bytes, failing beyond.
func readAllLimited(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, errPDFStreamTooLarge
	}
	return b, nil
}

var errPDFStreamTooLarge = errors.New("pdf: stream inflates beyond the limit")
