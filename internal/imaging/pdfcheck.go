package imaging

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
)

// PDFMode is what happens to a PDF that passes the safety checks.
type PDFMode int

const (
	// PDFRebuild (the default) rebuilds a PDF made of page images (what
	// scanners write) from those images, re-encoded by this package, so
	// nothing of the original file but its pixels reaches Medtech. A PDF
	// with text or drawings cannot be rasterised here (that needs a PDF
	// renderer) and passes through unchanged after the checks.
	PDFRebuild PDFMode = iota
	// PDFPassThrough sends every PDF that passes the checks unchanged
	// (keeping a scanner's searchable text layer, for example).
	PDFPassThrough
	// PDFRebuildOnly rebuilds like PDFRebuild and refuses a PDF that
	// cannot be rebuilt instead of passing it through.
	PDFRebuildOnly
)

func (m PDFMode) String() string {
	switch m {
	case PDFPassThrough:
		return "passthrough"
	case PDFRebuildOnly:
		return "rebuild-only"
	}
	return "rebuild"
}

// pdfActive maps the names that carry active or embedded content (as
// dictionary keys or as values such as an action's /S or an annotation's
// /Subtype) to what they mean for a person. OpenAction is judged apart: a
// destination (open at page 1, fit width) is harmless and very common; an
// action dictionary is not.
var pdfActive = map[pdfName]string{
	"JavaScript":     "JavaScript",
	"JS":             "JavaScript",
	"Launch":         "a command that starts a program",
	"EmbeddedFile":   "an embedded file",
	"EmbeddedFiles":  "an embedded file",
	"FileAttachment": "an embedded file",
	"GoToE":          "a link into an embedded file",
	"AA":             "actions that run when it is opened, viewed or clicked",
	"RichMedia":      "embedded Flash or video",
	"XFA":            "an XFA form (forms that can run scripts)",
	"SubmitForm":     "a form that sends data over the internet",
	"ImportData":     "a form that loads data from another file",
}

// htmlMarkers are the starts of HTML a browser would run or render; found
// outside a PDF's compressed streams they make the file a polyglot.
var htmlMarkers = []string{"<script", "<html", "<body", "<iframe", "<svg", "<!doctype", "<object", "<embed", "<meta", "<?php"}

// checkPDF parses b and applies every safety check, returning the parsed
// document or an *Error with the sentence for the GP.
func checkPDF(b []byte) (*pdfDoc, error) {
	d, err := parsePDF(b)
	if err != nil {
		var junk errPDFJunk
		switch {
		case errors.As(err, &junk), htmlIn(b, nil) >= 0:
			return nil, errPDFPolyglot(err)
		case errors.Is(err, errPDFTruncated):
			return nil, errTruncated(TypePDF, io.ErrUnexpectedEOF)
		case errors.Is(err, errPDFStreamTooLarge):
			return nil, errPDFUncheckable("a part of it inflates to more than can be checked", err)
		}
		return nil, errCorrupt(TypePDF, err)
	}
	if i := htmlOutsideStreams(d); i >= 0 {
		return nil, errPDFPolyglot(errors.New("pdf: HTML markup in the file"))
	}
	for _, t := range d.trailers {
		if _, ok := t["Encrypt"]; ok {
			return nil, newErr(ErrUnsupported, nil, "This PDF is password-protected or encrypted, so its content cannot be checked; print it to a new PDF without a password, or scan the paper, and try again.")
		}
	}
	if d.unchecked > 0 {
		return nil, errPDFUncheckable("parts of it are stored in a form that cannot be read here", nil)
	}
	for _, def := range d.all {
		if f := activeIn(d, def.v, 0); f != nil {
			return nil, errPDFActive(f)
		}
	}
	for _, t := range d.trailers {
		if f := activeIn(d, t, 0); f != nil {
			return nil, errPDFActive(f)
		}
	}
	return d, nil
}

// activeFinding is what the checks found: a description for a person and
// the PDF names that carry it, for practice IT.
type activeFinding struct{ what, names string }

// activeIn looks through one value for active content.
func activeIn(d *pdfDoc, v any, depth int) *activeFinding {
	if depth > pdfMaxDepth {
		return nil
	}
	switch x := v.(type) {
	case pdfName:
		if w := pdfActive[x]; w != "" {
			return &activeFinding{w, "/" + string(x)}
		}
	case pdfArray:
		for _, e := range x {
			if f := activeIn(d, e, depth+1); f != nil {
				return f
			}
		}
	case *pdfStream:
		return activeIn(d, x.dict, depth+1)
	case pdfDict:
		// Keys in a fixed order, and a dictionary's own keys before what
		// they hold, so the sentence names the same thing every time.
		keys := make([]pdfName, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if w := pdfActive[k]; w != "" {
				return &activeFinding{w, "/" + string(k)}
			}
		}
		if e, ok := x["OpenAction"]; ok && e != nil {
			if _, dest := d.resolve(e).(pdfArray); !dest {
				// Name what the action does; its dictionary itself is
				// checked where it is defined.
				if s, ok := d.dict(e)["S"].(pdfName); ok && pdfActive[s] != "" {
					return &activeFinding{pdfActive[s], "/OpenAction /" + string(s)}
				}
				return &activeFinding{"an action that runs when it is opened", "/OpenAction"}
			}
		}
		if s, ok := d.resolve(x["URI"]).(pdfString); ok && scriptURI(string(s)) {
			return &activeFinding{"JavaScript", "/URI"}
		}
		for _, k := range keys {
			if f := activeIn(d, x[k], depth+1); f != nil {
				return f
			}
		}
	}
	return nil
}

func scriptURI(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(s, "javascript:") || strings.HasPrefix(s, "vbscript:") || strings.HasPrefix(s, "data:")
}

// htmlOutsideStreams returns the offset of the first HTML marker in the
// file outside filtered (compressed) stream data, -1 if none. Compressed
// bytes are skipped because short markers occur there by chance; what a
// browser could render is never compressed.
func htmlOutsideStreams(d *pdfDoc) int {
	var skip [][2]int
	for _, def := range d.all {
		if s, ok := def.v.(*pdfStream); ok && s.dict["Filter"] != nil && len(s.raw) > 0 {
			skip = append(skip, [2]int{s.off, s.off + len(s.raw)})
		}
	}
	return htmlIn(d.b, skip)
}

// htmlIn returns the offset of the first HTML marker in b outside the
// sorted ranges skip, -1 if none.
func htmlIn(b []byte, skip [][2]int) int {
	k := 0
	for i := 0; i < len(b); i++ {
		for k < len(skip) && skip[k][1] <= i {
			k++
		}
		if k < len(skip) && skip[k][0] <= i {
			i = skip[k][1] - 1
			continue
		}
		if b[i] != '<' {
			continue
		}
		for _, m := range htmlMarkers {
			if i+len(m) <= len(b) && bytes.EqualFold(b[i:i+len(m)], []byte(m)) {
				return i
			}
		}
	}
	return -1
}

func errPDFActive(f *activeFinding) error {
	return newErr(ErrPDFUnsafe, nil, "This PDF contains %s (%s), which can act on any computer that opens it, so it is not sent to Medtech; print it to a new PDF, or scan the paper, and send that instead.", f.what, f.names)
}

func errPDFPolyglot(cause error) error {
	return newErr(ErrPDFUnsafe, cause, "This PDF has other data hidden before, inside or after it (it may also be a web page or a program), so it is not sent to Medtech; print it to a new PDF, or scan the paper, and send that instead.")
}

func errPDFUncheckable(why string, cause error) error {
	return newErr(ErrPDFUnsafe, cause, "This PDF cannot be checked for hidden content because %s, so it is not sent to Medtech; print it to a new PDF, or scan the paper, and send that instead.", why)
}
