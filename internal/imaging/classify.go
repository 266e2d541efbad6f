package imaging

// Kind is what a converted item turned out to be.
type Kind int

const (
	KindAuto           Kind = iota // only in Options: detect
	KindPhoto                      // JPEG-compressed (TIFF or PDF)
	KindDocument                   // grayscale or bilevel, lossless Deflate
	KindPDFPassthrough             // a valid PDF sent unchanged
)

func (k Kind) String() string {
	switch k {
	case KindPhoto:
		return "photo"
	case KindDocument:
		return "document"
	case KindPDFPassthrough:
		return "pdf"
	}
	return "auto"
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
