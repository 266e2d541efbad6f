// Package imaging turns whatever a camera, phone or scanner produced into one
// upright, metadata-free TIFF or PDF under a byte budget, for Medtech's Inbox
// Scan. Photos become JPEG-in-TIFF (or DCTDecode PDF); documents become
// grayscale or bilevel Deflate TIFF (or Flate PDF); PDFs are checked for
// active content and rebuilt from their page images, or passed through.
package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"math"

	"github.com/clinicpro/medtech-images/internal/imaging/jpegdec"
)

// Format is the container the caller wants.
type Format int

const (
	FormatAuto Format = iota // TIFF for images, PDF passes through as PDF
	FormatTIFF
	FormatPDF
)

// Options tune a conversion; the zero value is the product default.
type Options struct {
	Budget        int64  // largest output in bytes; default 1,000,000 (under "1 MB" by either definition)
	MaxPixels     int64  // decompression-bomb limit, checked before decoding; default 100 MP
	MaxInputBytes int64  // largest input accepted; default 200 MB
	Format        Format // container
	Rotate        int    // extra clockwise quarter turns the GP asked for, after EXIF orientation
	Crop          Crop   // the part of the upright image to keep (images; a PDF is sent whole)
	Treat         Kind   // KindAuto detects photo vs document; KindPhoto or KindDocument force it
	// Photos: a JPEG is decoded at the smallest DCT-domain reduction that
	// still covers a ViewEdge-pixel view (2016 px for a 12 MP phone, 2016
	// for 48 MP); the long edge starts there (or at the source, or at
	// MaxLongEdge, default 4096) and steps down by 12% until the JPEG fits
	// at GoodQuality (default 80, the floor that keeps a big image from
	// being sent blurred) or better, at the highest quality up to
	// MaxQuality (default 95) that fits. Below MinLongEdge (default 800) or
	// MinQuality (default 40) the item is refused.
	MaxLongEdge int
	MinLongEdge int
	MaxQuality  int
	GoodQuality int
	MinQuality  int
	DPI         int // resolution written to the file; default: the image printed at A4 size
	// DecodeBudget bounds the memory of decoded pixels for one conversion,
	// summed over its pages, checked from headers before decoding; default
	// DefaultDecodeBudget.
	DecodeBudget int64
	// Limiter admits one decode at a time; default DefaultLimiter, which
	// Thumbnail shares.
	Limiter *Limiter
	// PDF is what happens to a PDF that passes the safety checks; default
	// PDFRebuild.
	PDF PDFMode
}

const (
	// documentMaxLongEdge is A4 at 300 dpi: scans keep their full resolution
	// because small text needs it and bilevel Deflate makes it cheap.
	documentMaxLongEdge = 3508
	// documentMinLongEdge is A4 at about 100 dpi, the least that keeps 10 pt text legible.
	documentMinLongEdge = 1200
	a4LongInches        = 11.69
)

func (o Options) withDefaults() Options {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Budget, 1_000_000)
	def(&o.MaxPixels, 100_000_000)
	def(&o.MaxInputBytes, 200<<20)
	def(&o.DecodeBudget, DefaultDecodeBudget)
	if o.Limiter == nil {
		o.Limiter = DefaultLimiter
	}
	defi(&o.MaxLongEdge, 4096)
	defi(&o.MinLongEdge, 800)
	defi(&o.MaxQuality, 95)
	defi(&o.GoodQuality, 80)
	defi(&o.MinQuality, 40)
	o.MaxQuality = min(o.MaxQuality, 100)
	o.MinQuality = min(o.MinQuality, o.MaxQuality)
	o.GoodQuality = max(o.MinQuality, min(o.GoodQuality, o.MaxQuality))
	return o
}

// Result is one converted item.
type Result struct {
	Data          []byte
	ContentType   string // "image/tiff" or "application/pdf"
	Ext           string // ".tif" or ".pdf"
	Width, Height int    // of the first page, upright; 0 for a PDF passed through
	Pages         int
	Kind          Kind   // KindPhoto, KindDocument or KindPDFPassthrough (of the first page)
	Quality       int    // JPEG quality of the first page; 0 when lossless
	Encoding      string // "jpeg", "gray-deflate", "bilevel-deflate" or "pdf-passthrough"
	Source        Type   // what the (first) input was
}

// ReadLimited reads r whole, refusing more than limit bytes (0: the default
// MaxInputBytes) before they are all in memory.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = Options{}.withDefaults().MaxInputBytes
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge(int64(len(b)), limit)
	}
	return b, nil
}

// Convert turns one input file into one upright, metadata-free output under
// opt.Budget. The same bytes and options always give the same output bytes
// (the upload idempotency key depends on it). Errors are *Error values.
func Convert(ctx context.Context, b []byte, opt Options) (Result, error) {
	opt = opt.withDefaults()
	if int64(len(b)) > opt.MaxInputBytes {
		return Result{}, errTooLarge(int64(len(b)), opt.MaxInputBytes)
	}
	t, err := Sniff(b)
	if err != nil {
		return Result{}, err
	}
	if t == TypePDF {
		return convertPDF(ctx, b, opt)
	}
	return convertInputs(ctx, [][]byte{b}, opt)
}

// ConvertMany joins several inputs (the pages of one scanned letter) into one
// multi-page TIFF, or PDF with FormatPDF, under opt.Budget in total. Each page
// gets an equal share of the budget so the result does not depend on order.
// A multi-page TIFF input contributes all its pages.
func ConvertMany(ctx context.Context, inputs [][]byte, opt Options) (Result, error) {
	opt = opt.withDefaults()
	switch len(inputs) {
	case 0:
		return Result{}, errEmpty()
	case 1:
		return Convert(ctx, inputs[0], opt)
	}
	return convertInputs(ctx, inputs, opt)
}

// input is one image to decode: a whole file, or one page of a multi-page
// TIFF (ifd is then the offset of that page's directory).
type input struct {
	t   Type
	b   []byte
	ifd uint32
	// scale is the JPEG decode reduction (1, 2, 4 or 8; 0 means 1) for a
	// photo; docScale the one a document needs (it keeps more pixels), used
	// if the decoded image turns out to be a document.
	scale, docScale int
}

// reader presents the input to a decoder. A TIFF page is the file with its
// header's first-directory offset replaced, read in place (x/image/tiff
// reads only the first page; copying the file per page cost a whole file of
// memory for every page).
func (in input) reader() io.Reader {
	if in.t == TypeTIFF && in.ifd != 0 {
		return &tiffPageReader{b: in.b, off: in.ifd, bo: tiffByteOrder(in.b)}
	}
	return bytes.NewReader(in.b)
}

// tiffPageReader is an io.ReaderAt (and Reader) over b with bytes 4..7
// reading as off.
type tiffPageReader struct {
	b   []byte
	off uint32
	bo  binary.ByteOrder
	pos int64
}

func (r *tiffPageReader) ReadAt(p []byte, at int64) (int, error) {
	if at < 0 {
		return 0, errors.New("negative offset")
	}
	if at >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[at:])
	var hdr [4]byte
	r.bo.PutUint32(hdr[:], r.off)
	for i := max(at, 4); i < min(at+int64(n), 8); i++ {
		p[i-at] = hdr[i-4]
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *tiffPageReader) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	return n, err
}

// tiffPages returns one input per page of a multi-page TIFF (scanners'
// document feeders write them; x/image/tiff reads only the first page, and
// silently dropping pages 2..n of a referral would lose clinical content).
// Any other file is its own only input.
func tiffPages(t Type, b []byte) []input {
	one := []input{{t: t, b: b}}
	if t != TypeTIFF {
		return one
	}
	bo := tiffByteOrder(b)
	if bo == nil {
		return one
	}
	var offs []uint32
	seen := map[uint32]bool{}
	for off := bo.Uint32(b[4:8]); off != 0 && !seen[off] && len(offs) <= maxPages; {
		seen[off] = true
		if uint64(off)+2 > uint64(len(b)) {
			break
		}
		end := uint64(off) + 2 + 12*uint64(bo.Uint16(b[off:]))
		if end+4 > uint64(len(b)) {
			break
		}
		offs = append(offs, off)
		off = bo.Uint32(b[end:])
	}
	if len(offs) < 2 {
		return one
	}
	pages := make([]input, len(offs))
	for i, off := range offs {
		pages[i] = input{t: t, b: b, ifd: off}
	}
	return pages
}

// maxPages bounds a document; a 1 MB budget cannot hold more readable pages.
const maxPages = 200

// convertInputs converts image files (not PDFs) into one output: every page
// is checked from its headers first (type, pixel limit, and the decode
// memory of all pages together), then pages are decoded one at a time under
// the limiter, each fitted to its share of the budget.
func convertInputs(ctx context.Context, files [][]byte, opt Options) (Result, error) {
	var pages []input
	for _, b := range files {
		pe := func(err error) error {
			if len(files) > 1 {
				return pageErr(len(pages), err)
			}
			return err
		}
		if int64(len(b)) > opt.MaxInputBytes {
			return Result{}, pe(errTooLarge(int64(len(b)), opt.MaxInputBytes))
		}
		t, err := Sniff(b)
		if err != nil {
			return Result{}, pe(err)
		}
		if t == TypePDF {
			return Result{}, pe(newErr(ErrUnsupported, nil, "A PDF cannot be joined with other pages here; send it on its own."))
		}
		if t == TypeHEIC {
			if err := HEICReadable(); err != nil {
				return Result{}, pe(err)
			}
		}
		pages = append(pages, tiffPages(t, b)...)
	}
	if len(pages) > maxPages {
		return Result{}, newErr(ErrUnreadable, nil, "The document has more than %d pages, more than can be sent as one file; split it and try again.", maxPages)
	}
	pe := func(i int, err error) error {
		if len(pages) > 1 {
			return pageErr(i, err)
		}
		return err
	}
	total := decodeCost{}
	for i := range pages {
		c, err := checkHeaders(&pages[i], opt)
		if err != nil {
			return Result{}, pe(i, err)
		}
		total.add(c)
	}
	release, err := admit(ctx, total, opt)
	if err != nil {
		return Result{}, err
	}
	defer release()
	budget := pageBudget(opt, len(pages))
	var fits []*fitted
	for i, in := range pages {
		s, err := prepare(ctx, in, opt)
		if err != nil {
			return Result{}, pe(i, err)
		}
		p, err := fitPage(ctx, s, opt, budget)
		if err != nil {
			return Result{}, pe(i, err)
		}
		// A generous budget buys detail: a photo decoded reduced that fits
		// at the top quality in under half its share is decoded finer and
		// fitted again (larger, at the quality the budget then carries).
		for p.kind == KindPhoto && in.t == TypeJPEG && in.scale > 1 && p.quality >= opt.MaxQuality && 2*p.pg.size() < budget {
			finer := in
			finer.scale /= 2
			if estimateDecode(finer).bytes() > opt.DecodeBudget {
				break
			}
			s, err := prepare(ctx, finer, opt)
			if err != nil {
				break
			}
			q, err := fitPage(ctx, s, opt, budget)
			if err != nil {
				break
			}
			in, p = finer, q
		}
		fits = append(fits, p)
	}
	return assemble(fits, pages[0].t, opt)
}

// checkHeaders reads an input's header: it must be a type we decode, within
// the pixel limit. It sets the JPEG decode scales and returns what decoding
// will cost in memory (the larger of the photo and document decodes, which
// never coexist).
func checkHeaders(in *input, opt Options) (decodeCost, error) {
	if in.t == TypeHEIC && osHEIF == nil {
		return decodeCost{}, errHEIC()
	}
	cfg, err := decodeConfig(*in)
	if err != nil {
		return decodeCost{}, err
	}
	if int64(cfg.Width)*int64(cfg.Height) > opt.MaxPixels {
		return decodeCost{}, errTooManyPixels(cfg.Width, cfg.Height, opt.MaxPixels)
	}
	long := max(cfg.Width, cfg.Height)
	if in.t == TypeJPEG {
		// Every block of a JPEG costs at least one bit of entropy-coded
		// data (its DC difference), so a file smaller than that claims
		// pixels it cannot hold: a bomb, not a photo.
		if blocks := int64((cfg.Width+7)/8) * int64((cfg.Height+7)/8); int64(len(in.b))*8 < blocks {
			return decodeCost{}, newErr(ErrCorrupt, nil, "The JPEG file claims %d x %d pixels but holds only %s, too little for that many; it is damaged or not a real photo; export it again.", cfg.Width, cfg.Height, humanBytes(int64(len(in.b))))
		}
	}
	if in.t == TypeJPEG && in.scale == 0 {
		in.scale = jpegScale(long, photoLongEdge(opt, long))
		in.docScale = jpegScale(long, min(long, documentMaxLongEdge))
		switch opt.Treat {
		case KindPhoto:
			in.docScale = in.scale
		case KindDocument:
			in.scale = in.docScale
		}
	}
	c := estimateDecode(*in)
	if in.docScale != 0 && in.docScale != in.scale {
		doc := *in
		doc.scale = in.docScale
		if d := estimateDecode(doc); d.bytes() > c.bytes() {
			c = d
		}
	}
	if c.w == 0 {
		c.w, c.h = cfg.Width, cfg.Height
	}
	return c, nil
}

// ViewEdge is the long edge of the view a clinician sees a photo in: a
// 1920-pixel monitor. A photo's JPEG decode is reduced in the DCT domain no
// further than this, and the benchmark grades fidelity at it.
const ViewEdge = 1920

// photoLongEdge is the long edge a photo's decode must keep.
func photoLongEdge(opt Options, long int) int { return min(long, opt.MaxLongEdge, ViewEdge) }

// jpegScale is the largest DCT-domain reduction (8, 4, 2 or 1) whose output
// long edge is still at least want: the scaler then finishes from the
// smallest decode that loses nothing the output keeps.
func jpegScale(long, want int) int {
	for s := 8; s > 1; s /= 2 {
		if (long+s-1)/s >= want {
			return s
		}
	}
	return 1
}

// pageErr prefixes the page number so the GP knows which scan to redo.
func pageErr(i int, err error) error {
	if e, ok := err.(*Error); ok {
		return &Error{Kind: e.Kind, Msg: fmt.Sprintf("Page %d: %s", i+1, e.Msg), Err: e.Err}
	}
	return err
}

// pageBudget leaves room for the container: a TIFF IFD is ~300 bytes, a PDF
// page ~400 bytes plus ~300 for the file.
func pageBudget(opt Options, n int) int {
	return int((opt.Budget - 1024 - 512*int64(n)) / int64(n))
}

// Thumbnail decodes b and returns it upright with its long edge at most
// maxEdge, for the tray's preview. It shares Convert's front door checks,
// decode budget and limiter (DefaultLimiter), so previews and conversions
// decode one at a time; it gives up when ctx ends while it waits.
func Thumbnail(ctx context.Context, b []byte, maxEdge int) (image.Image, error) {
	opt := Options{}.withDefaults()
	if int64(len(b)) > opt.MaxInputBytes {
		return nil, errTooLarge(int64(len(b)), opt.MaxInputBytes)
	}
	t, err := Sniff(b)
	if err != nil {
		return nil, err
	}
	if t == TypePDF {
		return nil, newErr(ErrUnsupported, nil, "No preview is available for a %s file.", t)
	}
	if t == TypeHEIC {
		if err := HEICReadable(); err != nil {
			return nil, err
		}
	}
	in := tiffPages(t, b)[0]
	opt.Treat = KindPhoto // skip detection
	opt.MaxLongEdge = max(1, maxEdge)
	c, err := checkHeaders(&in, opt)
	if err != nil {
		return nil, err
	}
	release, err := admit(ctx, c, opt)
	if err != nil {
		return nil, err
	}
	defer release()
	s, err := prepare(ctx, in, opt)
	if err != nil {
		return nil, err
	}
	w, h := fitInside(s.img.Bounds().Dx(), s.img.Bounds().Dy(), max(1, maxEdge))
	return applyTransform(resize(s.img, w, h), s.orient), nil
}

func fitInside(w, h, edge int) (int, int) {
	if max(w, h) <= edge {
		return w, h
	}
	if w >= h {
		return edge, max(1, int(math.Round(float64(h)*float64(edge)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(edge)/float64(h)))), edge
}

// source is a decoded input ready for fitting.
type source struct {
	img    image.Image // normalized: *image.YCbCr, *image.Gray or *image.RGBA
	orient transform
	doc    bool
	page   *quad   // a photographed document's page corners in img; nil: img is the page
	inches float64 // the printed long edge when known (a PDF page); 0: A4
}

// prepare decodes an input whose headers checkHeaders has passed.
func prepare(ctx context.Context, in input, opt Options) (*source, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := decodePixels(in)
	if err != nil {
		return nil, err
	}
	s := &source{img: cropStored(normalize(m), orientationOf(in), opt.Crop), orient: uprightTransform(orientationOf(in), opt.Rotate)}
	s.doc, s.page = isDocument(s.img, opt.Treat, false)
	if s.doc && in.docScale != 0 && in.docScale < in.scale {
		// A document keeps more pixels than a photo (small print): decode
		// it again at the scale the document path needs.
		oldW := s.img.Bounds().Dx()
		s.img, m = nil, nil
		in.scale = in.docScale
		if m, err = decodePixels(in); err != nil {
			return nil, err
		}
		s.img = cropStored(normalize(m), orientationOf(in), opt.Crop)
		if s.page != nil {
			f := float64(s.img.Bounds().Dx()) / float64(oldW)
			for i := range s.page {
				s.page[i][0] *= f
				s.page[i][1] *= f
			}
		}
	}
	return s, ctx.Err()
}

// isDocument applies Options.Treat, or detects (docphoto.go), returning
// the page's corners for a photographed one; bilevel pixels (a 1-bit PDF
// page) are a document whatever they show.
func isDocument(m image.Image, treat Kind, bilevel bool) (bool, *quad) {
	switch treat {
	case KindDocument:
		if q, ok := findPage(m); ok {
			return true, &q
		}
		return true, nil
	case KindPhoto:
		return false, nil
	}
	if bilevel {
		return true, nil
	}
	return findDocument(m)
}

// fitted is one page chosen by the budget search.
type fitted struct {
	pg       *page
	kind     Kind
	quality  int
	encoding string
	w, h     int
}

// ladder lists the long edges to try, largest first: integer fractions of the
// source (the box shrink is then the whole scaling step, the fastest and
// sharpest path), with 0.8x steps filling gaps wider than that so a photo
// that just misses one size does not drop to two thirds of it.
func ladder(long, maxEdge, minEdge int) []int {
	if long <= minEdge {
		return []int{long}
	}
	var out []int
	fill := func(down int) { // 0.8x steps from the last entry down to (not including) down
		for len(out) > 0 && out[len(out)-1]*8/10 > down {
			out = append(out, out[len(out)-1]*8/10)
		}
	}
	for k := 1; long/k >= minEdge; k++ {
		e := long / k
		if e > maxEdge {
			continue
		}
		fill(e)
		out = append(out, e)
	}
	if len(out) == 0 { // maxEdge below every fraction that stays above minEdge
		out = append(out, min(long, maxEdge))
	}
	fill(minEdge - 1)
	if last := out[len(out)-1]; last*10 > minEdge*11 {
		out = append(out, minEdge)
	}
	return out
}

// photoLadder lists a photo's long edges to try, largest first: the
// largest allowed, then steps of 12% down to minEdge. Photos are scaled
// with Lanczos whatever the factor, so sizes are not tied to fractions of
// the source.
func photoLadder(long, maxEdge, minEdge int) []int {
	e := min(long, maxEdge)
	out := []int{e}
	for e > minEdge {
		e = max(minEdge, e*88/100)
		out = append(out, e)
	}
	return out
}

// scaledTo returns the source scaled so its long edge is e, using a pure box
// shrink when e is an integer fraction of the source.
func scaledTo(m image.Image, e int) image.Image {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	long := max(w, h)
	if e >= long {
		return m
	}
	if k := long / e; long/k == e {
		return boxShrink(m, k)
	}
	tw, th := fitInside(w, h, e)
	return resize(m, tw, th)
}

// scaledPhoto is scaledTo for photos: the same output size, but Lanczos
// (sinc.go) over the whole frame instead of the box shrink, because photo
// detail is what the JPEG budget is spent on. Documents keep the box shrink:
// its lack of ringing round text suits the bilevel threshold.
func scaledPhoto(m image.Image, e int) image.Image {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	long := max(w, h)
	if e >= long {
		return m
	}
	tw, th := fitInside(w, h, e)
	if k := long / e; long/k == e {
		tw, th = w/k, h/k
	}
	return sincResize(m, tw, th)
}

func fitPage(ctx context.Context, s *source, opt Options, budget int) (*fitted, error) {
	b := s.img.Bounds()
	long := max(b.Dx(), b.Dy())
	dpi := func(m image.Image) int {
		if opt.DPI > 0 {
			return opt.DPI
		}
		e := max(m.Bounds().Dx(), m.Bounds().Dy())
		inches := a4LongInches
		if s.inches > 1 {
			inches = s.inches
		}
		return max(72, min(600, int(math.Round(float64(e)/inches))))
	}
	pdf := opt.Format == FormatPDF
	if s.doc {
		// A photographed page is cut out and un-tilted at each size; a
		// scan is the whole frame. Either way the light is flattened
		// before the grey or bilevel page is made.
		pw, ph := b.Dx(), b.Dy()
		if s.page != nil {
			pw, ph = pageSize(*s.page, documentMaxLongEdge)
			long = max(pw, ph)
		}
		for _, e := range ladder(long, documentMaxLongEdge, max(documentMinLongEdge, opt.MinLongEdge)) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			var g *image.Gray
			if s.page != nil {
				w, h := fitInside(pw, ph, e)
				g = rectifyGray(s.img, *s.page, w, h)
			} else {
				g = toGray(scaledTo(s.img, e))
			}
			g = toGray(applyTransform(flattenGray(g), s.orient))
			if p := deflatePage(g, 8, dpi(g), pdf, budget); p != nil {
				return &fitted{pg: p, kind: KindDocument, encoding: "gray-deflate", w: p.w, h: p.h}, nil
			}
			if p := deflatePage(bilevel(g), 1, dpi(g), pdf, budget); p != nil {
				return &fitted{pg: p, kind: KindDocument, encoding: "bilevel-deflate", w: p.w, h: p.h}, nil
			}
		}
		return nil, errUnreadable(fmt.Sprintf("a document page needs more than %s even in black and white", humanBytes(int64(budget))))
	}
	// Photos: the largest size of the ladder whose JPEG reaches GoodQuality
	// within the budget, at the highest quality up to MaxQuality that fits.
	// Sizes are judged by predicted size (jpegsize.go) before any encode:
	// JPEG size grows about linearly with pixels at a fixed quality, so one
	// prediction also says how far down the ladder the answer lies.
	jpegAt := func(m image.Image, src *jpegSource, lo int) (*fitted, int, error) {
		q, j, floorSize, err := searchQuality(ctx, src, lo, opt.MaxQuality, budget)
		if err != nil || j == nil {
			return nil, floorSize, err
		}
		p, err := jpegPage(j, dpi(m))
		if err != nil {
			return nil, 0, err
		}
		return &fitted{pg: p, kind: KindPhoto, quality: q, encoding: "jpeg", w: p.w, h: p.h}, 0, nil
	}
	fallback := 0 // the largest size predicted to fit at MinQuality, if none reaches GoodQuality
	skipAbove := math.Inf(1)
	for _, e := range photoLadder(long, opt.MaxLongEdge, opt.MinLongEdge) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if float64(e) > skipAbove {
			continue
		}
		m := applyTransform(scaledPhoto(s.img, e), s.orient)
		src := newJPEGSample(m) // the DCT of its sample only, until the size is chosen
		if est := src.estimate(opt.GoodQuality); est > budget {
			skipAbove = float64(e) * math.Sqrt(float64(budget)/float64(est))
			if fallback == 0 && src.estimate(opt.MinQuality) <= budget {
				fallback = e
			}
			continue
		}
		src.transform()
		f, floorSize, err := jpegAt(m, src, opt.GoodQuality)
		if err != nil {
			return nil, err
		}
		if f != nil {
			return f, nil
		}
		skipAbove = float64(e) * math.Sqrt(float64(budget)/float64(floorSize))
	}
	if fallback > 0 {
		m := applyTransform(scaledPhoto(s.img, fallback), s.orient)
		f, _, err := jpegAt(m, newJPEGSource(m), opt.MinQuality)
		if err != nil || f != nil {
			return f, err
		}
	}
	return nil, errUnreadable(fmt.Sprintf("a photo needs more than %s at %d px and JPEG quality %d", humanBytes(int64(budget)), min(long, opt.MinLongEdge), opt.MinQuality))
}

// trellisMaxQuality is where trellis quantisation stops paying: from
// quality 90 its dynamic programme has many nonzero coefficients per block
// to weigh (a 12 MP photo's conversion took three times as long) for a gain
// of a few hundredths of a dB, so the time goes to the speed target instead.
const trellisMaxQuality = 90

// trellisMaxPixels is where trellis stops paying for the same reason: its
// time grows with the blocks and their nonzero coefficients; on a 2.8 MP
// output (the 24 MP benchmark photo) it was a quarter of the conversion
// for about 0.1 dB, and on a 5.5 MP one a third.
const trellisMaxPixels = 2_000_000

// searchQuality returns the highest JPEG quality in [lo, hi] whose encoding
// fits the budget. The search runs on size predictions (jpegsize.go), which
// cost an eighth of an encode, and is confirmed by real encodes: the answer,
// and the quality above it to show it does not fit. When even lo is too big
// it returns a nil slice and the size at lo.
func searchQuality(ctx context.Context, src *jpegSource, lo, hi, budget int) (int, []byte, int, error) {
	// When the budget binds, trellis quantisation (smaller at the same
	// quality) is tried one quality step above the answer, then at the
	// answer, and kept only if it fits and is no larger. A photo that fits
	// at the top quality is not budget-bound and skips it.
	final := func(q int, plain []byte) (int, []byte) {
		if q >= trellisMaxQuality || src.w*src.h > trellisMaxPixels {
			return q, plain
		}
		if q < hi {
			if t := src.encodeTrellis(q + 1); len(t) <= budget {
				return q + 1, t
			}
		}
		if t := src.encodeTrellis(q); len(t) <= len(plain) {
			return q, t
		}
		return q, plain
	}
	// The highest quality predicted to fit. Size is close to exponential in
	// quality over this range, so interpolating log(size) between the
	// bracket's ends lands within a step or two; a step that fails to halve
	// the bracket is followed by a bisection.
	q := hi
	if bs := src.estimate(hi); bs > budget {
		good, bad := lo, hi
		gs := src.estimate(lo)
		bisect := false
		for bad-good > 1 && gs <= budget {
			width := bad - good
			mid := (good + bad) / 2
			if !bisect && bs > gs {
				f := math.Log(float64(budget)/float64(gs)) / math.Log(float64(bs)/float64(gs))
				mid = max(good+1, min(bad-1, good+int(math.Round(f*float64(width)))))
			}
			if e := src.estimate(mid); e <= budget {
				good, gs = mid, e
			} else {
				bad, bs = mid, e
			}
			bisect = !bisect && 2*(bad-good) > width
		}
		q = good
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, 0, err
	}
	// Confirm: step down while the real encode is over, then up while the
	// next quality also fits.
	j := src.encode(q)
	for len(j) > budget && q > lo {
		q--
		j = src.encode(q)
	}
	if len(j) > budget {
		return 0, nil, len(j), nil
	}
	for q < hi {
		if err := ctx.Err(); err != nil {
			return 0, nil, 0, err
		}
		if src.estimate(q+1) > budget+budget/20 {
			break // predictions are within 4%: it cannot fit
		}
		next := src.encode(q + 1)
		if len(next) > budget {
			break
		}
		q, j = q+1, next
	}
	if q == hi {
		return q, j, 0, nil
	}
	q, j = final(q, j)
	return q, j, 0, nil
}

// readBackScale is the JPEG decode reduction of the read-back check.
const readBackScale = 8

func assemble(pages []*fitted, src Type, opt Options) (Result, error) {
	pgs := make([]*page, len(pages))
	for i, p := range pages {
		pgs[i] = p.pg
	}
	r := Result{Width: pages[0].w, Height: pages[0].h, Pages: len(pages), Kind: pages[0].kind,
		Quality: pages[0].quality, Encoding: pages[0].encoding, Source: src}
	var decoded []image.Image
	var err error
	// Every page is decoded again (JPEG pages at 1/8: every Huffman code
	// is still read) and its size checked.
	if opt.Format == FormatPDF {
		r.Data, r.ContentType, r.Ext = writePDF(pgs), "application/pdf", ".pdf"
		decoded, err = decodeOwnPDFAt(r.Data, readBackScale)
	} else {
		r.Data, r.ContentType, r.Ext = writeTIFF(pgs), "image/tiff", ".tif"
		decoded, err = decodeOwnTIFFAt(r.Data, readBackScale)
	}
	if err == nil && len(decoded) != len(pgs) {
		err = fmt.Errorf("%d pages written, %d read back", len(pgs), len(decoded))
	}
	for i := 0; err == nil && i < len(decoded); i++ {
		w, h := pgs[i].w, pgs[i].h
		if pgs[i].jpeg != nil {
			w, h = jpegdec.ScaledSize(w, h, readBackScale)
		}
		if b := decoded[i].Bounds(); b.Dx() != w || b.Dy() != h {
			err = fmt.Errorf("page %d read back at the wrong size", i+1)
		}
	}
	if err != nil { // a bug in our writer, never the user's file
		return Result{}, fmt.Errorf("imaging: output failed its read-back check: %w", err)
	}
	if int64(len(r.Data)) > opt.Budget {
		return Result{}, fmt.Errorf("imaging: output of %d bytes exceeds budget %d after container overhead", len(r.Data), opt.Budget)
	}
	return r, nil
}
