package imaging

import (
	"errors"
	"fmt"
	"strconv"
)

// A tokenizer and object parser for the PDF syntax (ISO 32000 §7.2-7.3):
// enough to walk every object of a file for the safety checks, and to read
// the page tree, content streams and image streams of a scanned PDF. PDF
// values map onto these Go types: nil, bool, int64, float64, pdfName,
// pdfString, pdfArray, pdfDict, pdfRef, and *pdfStream for a stream object.
type (
	pdfName    string // without the slash, #xx escapes decoded
	pdfString  string // the bytes of a literal or hex string
	pdfArray   []any
	pdfDict    map[pdfName]any
	pdfKeyword string // a bare word: obj, R, or a content stream operator
	pdfRef     struct{ num, gen int }
)

type pdfStream struct {
	dict pdfDict
	raw  []byte // the encoded bytes, a slice of the file
	off  int    // where raw starts in the file
}

// pdfMaxDepth bounds nested arrays and dictionaries, so a file of "[[[[..."
// cannot exhaust the stack.
const pdfMaxDepth = 64

var errPDFSyntax = errors.New("pdf: syntax error")

// pdfSyntaxError says where parsing stopped, for logs.
type pdfSyntaxError struct {
	off int
	msg string
}

func (e *pdfSyntaxError) Error() string { return fmt.Sprintf("pdf: %s at byte %d", e.msg, e.off) }
func (e *pdfSyntaxError) Unwrap() error { return errPDFSyntax }

type pdfLexer struct {
	b   []byte
	pos int
	// eofEnd is the position just after the last "%%EOF" comment seen.
	eofEnd int
}

func (l *pdfLexer) fail(msg string) error { return &pdfSyntaxError{off: l.pos, msg: msg} }

func isPDFSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isPDFRegular(c byte) bool { return !isPDFSpace(c) && !isPDFDelim(c) }

// skip passes over white space and comments.
func (l *pdfLexer) skip() {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		if isPDFSpace(c) {
			l.pos++
			continue
		}
		if c != '%' {
			return
		}
		start := l.pos
		for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
			l.pos++
		}
		if string(l.b[start:l.pos]) == "%%EOF" || len(l.b[start:l.pos]) > 5 && string(l.b[start:start+5]) == "%%EOF" && allPDFSpace(l.b[start+5:l.pos]) {
			l.eofEnd = l.pos
		}
	}
}

func allPDFSpace(b []byte) bool {
	for _, c := range b {
		if !isPDFSpace(c) {
			return false
		}
	}
	return true
}

// word returns the run of regular characters at the cursor (a number,
// keyword or operator) without consuming it.
func (l *pdfLexer) word() []byte {
	e := l.pos
	for e < len(l.b) && isPDFRegular(l.b[e]) {
		e++
	}
	return l.b[l.pos:e]
}

// keyword consumes the bare word kw if it is next (after white space).
func (l *pdfLexer) keyword(kw string) bool {
	l.skip()
	if w := l.word(); string(w) == kw {
		l.pos += len(w)
		return true
	}
	return false
}

// integer consumes an unsigned integer if one is next.
func (l *pdfLexer) integer() (int64, bool) {
	l.skip()
	w := l.word()
	if len(w) == 0 || len(w) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range w {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = 10*n + int64(c-'0')
	}
	l.pos += len(w)
	return n, true
}

// value parses one object at the cursor. Inside content streams (ops true)
// bare words are returned as pdfKeyword operators; elsewhere only true,
// false, null and the "n g R" reference are words a value may hold.
func (l *pdfLexer) value(depth int, ops bool) (any, error) {
	if depth > pdfMaxDepth {
		return nil, l.fail("objects nested too deeply")
	}
	l.skip()
	if l.pos >= len(l.b) {
		return nil, l.fail("unexpected end of file")
	}
	switch c := l.b[l.pos]; c {
	case '/':
		return l.name()
	case '(':
		return l.literal()
	case '<':
		if l.pos+1 < len(l.b) && l.b[l.pos+1] == '<' {
			return l.dict(depth, ops)
		}
		return l.hex()
	case '[':
		l.pos++
		var a pdfArray
		for {
			l.skip()
			if l.pos >= len(l.b) {
				return nil, l.fail("unterminated array")
			}
			if l.b[l.pos] == ']' {
				l.pos++
				return a, nil
			}
			v, err := l.value(depth+1, ops)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case ')', '>', ']', '{', '}':
		return nil, l.fail(fmt.Sprintf("unexpected %q", c))
	}
	w := l.word()
	if len(w) == 0 {
		return nil, l.fail("unexpected character")
	}
	if n, ok := pdfNumber(w); ok {
		l.pos += len(w)
		if i, isInt := n.(int64); isInt && !ops && i >= 0 {
			// "n g R" is a reference; anything else leaves the number alone.
			save := l.pos
			if g, ok := l.integer(); ok && g < 1<<16 && l.keyword("R") && i < 1<<31 {
				return pdfRef{int(i), int(g)}, nil
			}
			l.pos = save
		}
		return n, nil
	}
	l.pos += len(w)
	switch string(w) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if ops {
		return pdfKeyword(w), nil
	}
	l.pos -= len(w)
	return nil, l.fail(fmt.Sprintf("unexpected word %q", truncateWord(w)))
}

func truncateWord(w []byte) string {
	if len(w) > 20 {
		return string(w[:20]) + "..."
	}
	return string(w)
}

// pdfNumber parses an integer or real as PDF writes them (no exponents).
func pdfNumber(w []byte) (any, bool) {
	i := 0
	if w[0] == '+' || w[0] == '-' {
		i++
	}
	digits, dots := 0, 0
	for _, c := range w[i:] {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return nil, false
		}
	}
	if digits == 0 || dots > 1 {
		return nil, false
	}
	if dots == 0 {
		if n, err := strconv.ParseInt(string(w), 10, 64); err == nil {
			return n, true
		}
		f, _ := strconv.ParseFloat(string(w), 64) // too long for int64: still a number
		return f, true
	}
	f, err := strconv.ParseFloat(string(w), 64)
	return f, err == nil
}

func (l *pdfLexer) name() (pdfName, error) {
	l.pos++ // '/'
	var out []byte
	for l.pos < len(l.b) && isPDFRegular(l.b[l.pos]) {
		c := l.b[l.pos]
		if c == '#' && l.pos+2 < len(l.b) {
			if v, ok := unhex2(l.b[l.pos+1], l.b[l.pos+2]); ok {
				out = append(out, v)
				l.pos += 3
				continue
			}
		}
		out = append(out, c)
		l.pos++
	}
	return pdfName(out), nil
}

func unhex2(a, b byte) (byte, bool) {
	x, ok1 := unhex(a)
	y, ok2 := unhex(b)
	return x<<4 | y, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (l *pdfLexer) literal() (pdfString, error) {
	l.pos++ // '('
	var out []byte
	nest := 1
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '(':
			nest++
		case ')':
			nest--
			if nest == 0 {
				return pdfString(out), nil
			}
		case '\\':
			if l.pos >= len(l.b) {
				break
			}
			e := l.b[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r': // line continuation
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; k++ {
						v = 8*v + int(l.b[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				} else {
					c = e // \( \) \\ and unknown escapes stand for themselves
				}
			}
		}
		out = append(out, c)
	}
	return "", l.fail("unterminated string")
}

func (l *pdfLexer) hex() (pdfString, error) {
	l.pos++ // '<'
	var out []byte
	var hi byte
	odd := false
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		if c == '>' {
			if odd {
				out = append(out, hi<<4)
			}
			return pdfString(out), nil
		}
		if isPDFSpace(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return "", l.fail("bad hex string")
		}
		if odd {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		odd = !odd
	}
	return "", l.fail("unterminated hex string")
}

func (l *pdfLexer) dict(depth int, ops bool) (pdfDict, error) {
	l.pos += 2 // "<<"
	d := pdfDict{}
	for {
		l.skip()
		if l.pos+1 < len(l.b) && l.b[l.pos] == '>' && l.b[l.pos+1] == '>' {
			l.pos += 2
			return d, nil
		}
		if l.pos >= len(l.b) {
			return nil, l.fail("unterminated dictionary")
		}
		if l.b[l.pos] != '/' {
			return nil, l.fail("dictionary key is not a name")
		}
		k, _ := l.name()
		v, err := l.value(depth+1, ops)
		if err != nil {
			return nil, err
		}
		d[k] = v
	}
}

// Helpers for reading parsed values.

func pdfInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}

func pdfNum(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
