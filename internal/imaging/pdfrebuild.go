package imaging

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"golang.org/x/image/ccitt"
)

// Rebuilding a PDF from its page images. Scanners and scanning apps write a
// PDF page as one image XObject drawn over the whole page (DCT, Flate or
// CCITT G4), sometimes with an invisible OCR text layer. Such a page is
// rebuilt exactly: the image is decoded, oriented as the page shows it, and
// re-encoded by this package like any scan, so none of the original file's
// objects, fonts or metadata reach Medtech. A page with visible text or
// drawings needs a PDF renderer (fonts, vector paths, transparency) that
// does not exist in pure Go; such a PDF is not rebuilt (see PDFMode).

// pdfPage is one rebuildable page: its image and how it is drawn.
type pdfPage struct {
	img    *pdfStream
	orient transform // image pixels to the page as displayed
	inches float64   // the displayed page's long edge
}

// convertPDF checks a PDF and then rebuilds it, or passes it through, as
// opt.PDF says.
func convertPDF(ctx context.Context, b []byte, opt Options) (Result, error) {
	d, err := checkPDF(b)
	if err != nil {
		return Result{}, err
	}
	pages, err := d.pages()
	if err != nil {
		return Result{}, errCorrupt(TypePDF, err)
	}
	if opt.PDF != PDFPassThrough {
		imgs, why := d.pageImages(pages)
		if why == "" {
			return rebuildPDF(ctx, d, imgs, opt)
		}
		if opt.PDF == PDFRebuildOnly {
			return Result{}, newErr(ErrUnsupported, nil, "This PDF cannot be rebuilt from page images (%s), and this practice's settings send only rebuilt PDFs; scan the paper, or print the PDF to images, and try again.", why)
		}
	}
	return passCheckedPDF(d, len(pages), opt)
}

// pageImages returns each page's image, or why the PDF cannot be rebuilt.
func (d *pdfDoc) pageImages(pages []pdfDict) ([]pdfPage, string) {
	if len(pages) > maxPages {
		return nil, fmt.Sprintf("it has %d pages", len(pages))
	}
	out := make([]pdfPage, 0, len(pages))
	for i, p := range pages {
		pi, why := d.pageImage(p)
		if why != "" {
			if len(pages) > 1 {
				why = fmt.Sprintf("page %d has %s", i+1, why)
			} else {
				why = "the page has " + why
			}
			return nil, why
		}
		out = append(out, pi)
	}
	return out, ""
}

// pdfContentLimit bounds a page's content stream: a scanned page draws one
// image in a few dozen bytes (plus an OCR text layer); megabytes of content
// are drawings.
const pdfContentLimit = 4 << 20

// pageImage reads one page's content stream. It accepts only state
// operators, invisible text (an OCR layer, render mode 3), clipping paths
// and exactly one image drawn across the page.
func (d *pdfDoc) pageImage(page pdfDict) (pdfPage, string) {
	box := d.box(page["CropBox"])
	if box == nil {
		box = d.box(page["MediaBox"])
	}
	if box == nil {
		return pdfPage{}, "no page size"
	}
	content, err := d.contents(page["Contents"])
	if err != nil {
		return pdfPage{}, "content that cannot be read"
	}
	res := d.dict(page["Resources"])
	xobjs := d.dict(res["XObject"])

	l := &pdfLexer{b: content}
	ctm := pdfMatrix{1, 0, 0, 1, 0, 0}
	var stack []pdfMatrix
	var operands []any
	textMode := int64(0)
	var found *pdfStream
	var foundCTM pdfMatrix
	for {
		l.skip()
		if l.pos >= len(l.b) {
			break
		}
		v, err := l.value(0, true)
		if err != nil {
			return pdfPage{}, "content that cannot be read"
		}
		op, isOp := v.(pdfKeyword)
		if !isOp {
			if len(operands) > 64 {
				return pdfPage{}, "content that cannot be read"
			}
			operands = append(operands, v)
			continue
		}
		args := operands
		operands = operands[:0]
		switch op {
		case "q":
			if len(stack) > 64 {
				return pdfPage{}, "content that cannot be read"
			}
			stack = append(stack, ctm)
		case "Q":
			if len(stack) > 0 {
				ctm, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
		case "cm":
			m, ok := matrixOf(args)
			if !ok {
				return pdfPage{}, "content that cannot be read"
			}
			ctm = m.mul(ctm)
		case "Do":
			if len(args) != 1 {
				return pdfPage{}, "content that cannot be read"
			}
			name, _ := args[0].(pdfName)
			x, ok := d.resolve(xobjs[name]).(*pdfStream)
			if !ok {
				return pdfPage{}, "a missing image"
			}
			if x.dict["Subtype"] != pdfName("Image") {
				return pdfPage{}, "drawings or text"
			}
			if found != nil {
				return pdfPage{}, "more than one image"
			}
			found, foundCTM = x, ctm
		case "Tr":
			if len(args) == 1 {
				textMode, _ = pdfInt(args[0])
			}
		case "Tj", "TJ", "'", "\"":
			if textMode != 3 {
				return pdfPage{}, "visible text"
			}
		case "BI":
			return pdfPage{}, "an inline image"
		case "S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh":
			return pdfPage{}, "drawings"
		case "BT", "ET", "Tf", "Tc", "Tw", "Tz", "TL", "Ts", "Td", "TD", "Tm", "T*",
			"m", "l", "c", "v", "y", "h", "re", "n", "W", "W*",
			"w", "J", "j", "M", "d", "ri", "i", "gs",
			"g", "G", "rg", "RG", "k", "K", "cs", "CS", "sc", "scn", "SC", "SCN",
			"BX", "EX", "MP", "DP", "BMC", "BDC", "EMC", "d0", "d1":
		default:
			return pdfPage{}, "content that cannot be read"
		}
	}
	if found == nil {
		return pdfPage{}, "no image"
	}
	// The image must cover the page: a small picture on a letter is a
	// layout this package cannot reproduce.
	bx := foundCTM.bounds()
	pw, ph := box[2]-box[0], box[3]-box[1]
	ix := max(0, min(bx[2], box[2])-max(bx[0], box[0]))
	iy := max(0, min(bx[3], box[3])-max(bx[1], box[1]))
	if pw <= 0 || ph <= 0 || ix*iy < 0.85*pw*ph {
		return pdfPage{}, "an image that does not fill it"
	}
	t, ok := foundCTM.orientation()
	if !ok {
		return pdfPage{}, "a skewed image"
	}
	rot, _ := pdfInt(d.resolve(page["Rotate"]))
	for range ((rot/90)%4 + 4) % 4 {
		t = t.then(exifTransforms[6])
	}
	return pdfPage{img: found, orient: t, inches: max(pw, ph) / 72}, ""
}

// contents returns a page's content stream(s), decoded and joined.
func (d *pdfDoc) contents(v any) ([]byte, error) {
	var parts []any
	switch x := d.resolve(v).(type) {
	case *pdfStream:
		parts = []any{x}
	case pdfArray:
		parts = x
	case nil:
		return nil, nil
	default:
		return nil, errors.New("pdf: bad page contents")
	}
	var out []byte
	for _, p := range parts {
		s, ok := d.resolve(p).(*pdfStream)
		if !ok {
			return nil, errors.New("pdf: bad page contents")
		}
		data, err := decodeStream(d, s, pdfContentLimit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(append(out, data...), '\n')
	}
	return out, nil
}

// box reads a rectangle [llx lly urx ury], normalised.
func (d *pdfDoc) box(v any) []float64 {
	a, ok := d.resolve(v).(pdfArray)
	if !ok || len(a) != 4 {
		return nil
	}
	r := make([]float64, 4)
	for i, e := range a {
		f, ok := pdfNum(d.resolve(e))
		if !ok || math.IsNaN(f) || math.Abs(f) > 1e6 {
			return nil
		}
		r[i] = f
	}
	return []float64{min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3])}
}

// pdfMatrix is [a b c d e f]: x' = a x + c y + e, y' = b x + d y + f.
type pdfMatrix [6]float64

func matrixOf(args []any) (pdfMatrix, bool) {
	var m pdfMatrix
	if len(args) != 6 {
		return m, false
	}
	for i, a := range args {
		f, ok := pdfNum(a)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e7 {
			return m, false
		}
		m[i] = f
	}
	return m, true
}

// mul returns m then n (m applied first), as "cm" concatenates.
func (m pdfMatrix) mul(n pdfMatrix) pdfMatrix {
	return pdfMatrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// bounds is the box the unit square (where an image is drawn) maps to.
func (m pdfMatrix) bounds() [4]float64 {
	b := [4]float64{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, p := range [][2]float64{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
		x := m[0]*p[0] + m[2]*p[1] + m[4]
		y := m[1]*p[0] + m[3]*p[1] + m[5]
		b[0], b[1], b[2], b[3] = min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)
	}
	return b
}

// orientation turns an axis-aligned image matrix into the transform that
// moves image pixels (row 0 at the top of the unit square) to the page as
// displayed (y down). Skewed or rotated-by-an-angle images are refused.
func (m pdfMatrix) orientation() (transform, bool) {
	sgn := func(v float64) int {
		if v < 0 {
			return -1
		}
		return 1
	}
	// Image x runs along (a, b) in user space; image y (downwards) along
	// (-c, -d). In raster space (y down) these are (a, -b) and (-c, d).
	a, b, c, d := m[0], m[1], m[2], m[3]
	const tol = 0.01
	switch {
	case math.Abs(b) <= tol*math.Abs(a) && math.Abs(c) <= tol*math.Abs(d) && a != 0 && d != 0:
		return transform{sgn(a), 0, 0, sgn(d)}, true
	case math.Abs(a) <= tol*math.Abs(b) && math.Abs(d) <= tol*math.Abs(c) && b != 0 && c != 0:
		// du = (0, -sgn b), dv = (-sgn c, 0): columns of the transform.
		return transform{0, -sgn(c), -sgn(b), 0}, true
	}
	return transform{}, false
}

// pdfImageInfo is what an image XObject's dictionary says about its samples.
type pdfImageInfo struct {
	w, h     int
	bpc      int
	comps    int    // 1 (grey or indexed) or 3 (RGB)
	palette  []byte // Indexed: RGB or grey entries
	palComps int
	invert   bool // /Decode [1 0]
	codec    pdfName
	parms    pdfDict // of the codec filter
	pre      []pdfName
	preParms []pdfDict
}

// imageInfo reads an image dictionary, or says why it cannot be rebuilt.
func (d *pdfDoc) imageInfo(s *pdfStream) (pdfImageInfo, string) {
	var in pdfImageInfo
	get := func(k pdfName) any { return d.resolve(s.dict[k]) }
	w, ok1 := pdfInt(get("Width"))
	h, ok2 := pdfInt(get("Height"))
	if !ok1 || !ok2 || w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 {
		return in, "an image of no valid size"
	}
	in.w, in.h = int(w), int(h)
	if get("SMask") != nil || get("Mask") != nil {
		return in, "a transparent image"
	}
	names, parms, err := s.filters(d)
	if err != nil {
		return in, "an image that cannot be read"
	}
	if n := len(names); n > 0 {
		switch names[n-1] {
		case "DCTDecode", "DCT", "CCITTFaxDecode", "CCF":
			in.codec, in.parms = names[n-1], parms[n-1]
			names, parms = names[:n-1], parms[:n-1]
		}
	}
	for _, n := range names {
		switch n {
		case "FlateDecode", "Fl", "ASCIIHexDecode", "AHx", "ASCII85Decode", "A85", "RunLengthDecode", "RL":
		case "JBIG2Decode":
			return in, "a JBIG2 image (not decoded here)"
		case "JPXDecode":
			return in, "a JPEG 2000 image (not decoded here)"
		default:
			return in, "an image in a format not decoded here"
		}
	}
	in.pre, in.preParms = names, parms
	mask, _ := get("ImageMask").(bool)
	bpc, _ := pdfInt(get("BitsPerComponent"))
	if mask {
		bpc = 1
		in.comps = 1
	} else {
		in.comps, in.palette, in.palComps = d.colorSpace(get("ColorSpace"))
		if in.comps == 0 {
			return in, "an image in a colour space not handled here"
		}
	}
	switch bpc {
	case 1, 2, 4, 8:
	default:
		if in.codec != "DCTDecode" && in.codec != "DCT" {
			return in, "an image with an unusual bit depth"
		}
	}
	in.bpc = int(bpc)
	if dec, ok := get("Decode").(pdfArray); ok && len(dec) >= 2 {
		lo, _ := pdfNum(d.resolve(dec[0]))
		hi, _ := pdfNum(d.resolve(dec[1]))
		switch {
		case lo == 1 && hi == 0 && in.comps == 1 && in.palette == nil:
			in.invert = true
		case lo == 0 && (hi == 1 || in.palette != nil):
		default:
			return in, "an image with an unusual decode mapping"
		}
	}
	if (in.codec == "CCITTFaxDecode" || in.codec == "CCF") && (in.bpc != 1 || in.comps != 1 || in.palette != nil) {
		return in, "an image that cannot be read"
	}
	if (in.codec == "DCTDecode" || in.codec == "DCT") && (in.palette != nil || in.invert) {
		return in, "an image with an unusual decode mapping"
	}
	return in, ""
}

// colorSpace returns the component count of a grey or RGB space (device,
// calibrated or ICC-based), or of an Indexed one over those with its
// palette; 0 for anything else.
func (d *pdfDoc) colorSpace(v any) (int, []byte, int) {
	switch cs := v.(type) {
	case pdfName:
		switch cs {
		case "DeviceGray", "G", "CalGray":
			return 1, nil, 0
		case "DeviceRGB", "RGB", "CalRGB":
			return 3, nil, 0
		}
	case pdfArray:
		if len(cs) == 0 {
			return 0, nil, 0
		}
		switch d.resolve(cs[0]) {
		case pdfName("CalGray"):
			return 1, nil, 0
		case pdfName("CalRGB"):
			return 3, nil, 0
		case pdfName("ICCBased"):
			if len(cs) >= 2 {
				if s, ok := d.resolve(cs[1]).(*pdfStream); ok {
					if n, _ := pdfInt(d.resolve(s.dict["N"])); n == 1 || n == 3 {
						return int(n), nil, 0
					}
				}
			}
		case pdfName("Indexed"), pdfName("I"):
			if len(cs) != 4 {
				return 0, nil, 0
			}
			base, _, _ := d.colorSpace(d.resolve(cs[1]))
			hival, ok := pdfInt(d.resolve(cs[2]))
			if base == 0 || !ok || hival < 0 || hival > 255 {
				return 0, nil, 0
			}
			var lut []byte
			switch t := d.resolve(cs[3]).(type) {
			case pdfString:
				lut = []byte(t)
			case *pdfStream:
				lut, _ = decodeStream(d, t, 3*256)
			}
			if len(lut) < base*int(hival+1) {
				return 0, nil, 0
			}
			return 1, lut[:base*int(hival+1)], base
		}
	}
	return 0, nil, 0
}

// imageCost is the memory decoding one page image takes.
func (d *pdfDoc) imageCost(in pdfImageInfo, s *pdfStream) decodeCost {
	px := int64(in.w) * int64(in.h)
	c := decodeCost{w: in.w, h: in.h, pages: 1}
	switch {
	case in.codec == "DCTDecode" || in.codec == "DCT":
		c = decodeCost{pixels: px * 3, scratch: 4 * px, w: in.w, h: in.h, pages: 1}
		if f, ok := readJPEGFrame(s.raw); ok && len(in.pre) == 0 {
			c = f.stdlibCost()
		}
		c.scratch += int64(len(s.raw)) // a pre-filter's output, at most
	case in.comps == 3 && in.palette == nil:
		// the inflated samples, then RGBA
		c.pixels, c.scratch = 4*px, px*int64(3*in.bpc)/8
	case in.palette != nil && in.palComps == 3:
		c.pixels, c.scratch = 4*px, px*int64(in.bpc)/8
	default:
		c.pixels, c.scratch = px, px*int64(in.bpc)/8
	}
	return c
}

// rebuildPDF decodes each page image and converts the pages like scans.
func rebuildPDF(ctx context.Context, d *pdfDoc, pages []pdfPage, opt Options) (Result, error) {
	infos := make([]pdfImageInfo, len(pages))
	total := decodeCost{}
	for i, p := range pages {
		in, why := d.imageInfo(p.img)
		if why != "" {
			if opt.PDF == PDFRebuildOnly {
				return Result{}, newErr(ErrUnsupported, nil, "This PDF cannot be rebuilt from page images (page %d has %s), and this practice's settings send only rebuilt PDFs; scan the paper, or print the PDF to images, and try again.", i+1, why)
			}
			return passCheckedPDF(d, len(pages), opt)
		}
		if int64(in.w)*int64(in.h) > opt.MaxPixels {
			return Result{}, pageErrN(len(pages), i, errTooManyPixels(in.w, in.h, opt.MaxPixels))
		}
		infos[i] = in
		total.add(d.imageCost(in, p.img))
	}
	release, err := admit(ctx, total, opt)
	if err != nil {
		return Result{}, err
	}
	defer release()
	if opt.Format != FormatTIFF {
		opt.Format = FormatPDF // a PDF stays a PDF unless the folder asks for TIFF
	}
	budget := pageBudget(opt, len(pages))
	var fits []*fitted
	for i, p := range pages {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		m, err := d.decodeImage(infos[i], p.img)
		if err != nil {
			return Result{}, pageErrN(len(pages), i, err)
		}
		s := &source{img: normalize(m), orient: p.orient, inches: p.inches}
		for range ((opt.Rotate % 4) + 4) % 4 {
			s.orient = s.orient.then(exifTransforms[6])
		}
		s.doc, _ = isDocument(s.img, opt.Treat, infos[i].bpc == 1)
		f, err := fitPage(ctx, s, opt, budget)
		if err != nil {
			return Result{}, pageErrN(len(pages), i, err)
		}
		fits = append(fits, f)
	}
	return assemble(fits, TypePDF, opt)
}

// passCheckedPDF is the pass-through of a checked PDF that cannot be rebuilt.
func passCheckedPDF(d *pdfDoc, pages int, opt Options) (Result, error) {
	if int64(len(d.b)) > opt.Budget {
		return Result{}, errPDFOverBudget(int64(len(d.b)), opt.Budget)
	}
	return Result{Data: d.b, ContentType: "application/pdf", Ext: ".pdf", Pages: pages, Kind: KindPDFPassthrough,
		Encoding: "pdf-passthrough", Source: TypePDF}, nil
}

func pageErrN(n, i int, err error) error {
	if n > 1 {
		return pageErr(i, err)
	}
	return err
}

// decodeImage turns one image XObject into pixels.
func (d *pdfDoc) decodeImage(in pdfImageInfo, s *pdfStream) (image.Image, error) {
	limit := int(min(int64(in.w)*int64(in.h)*3+1<<20, 1<<30))
	data, err := applyFilters(s.raw, in.pre, in.preParms, max(limit, len(s.raw)*4))
	if err != nil {
		return nil, errCorrupt(TypePDF, err)
	}
	switch in.codec {
	case "DCTDecode", "DCT":
		j := input{t: TypeJPEG, b: data}
		cfg, err := decodeConfig(j)
		if err != nil {
			return nil, err
		}
		if cfg.Width != in.w || cfg.Height != in.h {
			return nil, errCorrupt(TypePDF, errors.New("pdf: JPEG size differs from its image dictionary"))
		}
		m, err := decodePixels(j)
		if err != nil {
			return nil, err
		}
		if _, gray := m.(*image.Gray); gray != (in.comps == 1) {
			return nil, errCorrupt(TypePDF, errors.New("pdf: JPEG colours differ from its colour space"))
		}
		return m, nil
	case "CCITTFaxDecode", "CCF":
		k, _ := pdfInt(in.parms["K"])
		cols, ok := pdfInt(in.parms["Columns"])
		if !ok {
			cols = 1728
		}
		if k > 0 || int(cols) != in.w {
			return nil, errCorrupt(TypePDF, errors.New("pdf: CCITT variant not decoded"))
		}
		sf := ccitt.Group4
		if k == 0 {
			sf = ccitt.Group3
		}
		black1, _ := in.parms["BlackIs1"].(bool)
		align, _ := in.parms["EncodedByteAlign"].(bool)
		g := image.NewGray(image.Rect(0, 0, in.w, in.h))
		if err := ccitt.DecodeIntoGray(g, bytes.NewReader(data), ccitt.MSB, sf, &ccitt.Options{Align: align, Invert: black1}); err != nil {
			return nil, errCorrupt(TypePDF, err)
		}
		if in.invert {
			invertGray(g)
		}
		return g, nil
	}
	stride := (in.w*in.comps*in.bpc + 7) / 8
	if len(data) < stride*in.h {
		return nil, errCorrupt(TypePDF, errors.New("pdf: image data shorter than its size"))
	}
	if in.comps == 3 {
		m := image.NewRGBA(image.Rect(0, 0, in.w, in.h))
		parallelRows(in.h, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				src := data[y*stride:]
				dst := m.Pix[y*m.Stride:]
				for x := 0; x < in.w; x++ {
					for c := 0; c < 3; c++ {
						dst[4*x+c] = sampleAt(src, 3*x+c, in.bpc)
					}
					dst[4*x+3] = 255
				}
			}
		})
		return m, nil
	}
	if in.palette != nil {
		n := len(in.palette) / in.palComps
		if in.palComps == 1 {
			g := image.NewGray(image.Rect(0, 0, in.w, in.h))
			for y := 0; y < in.h; y++ {
				for x := 0; x < in.w; x++ {
					g.Pix[y*g.Stride+x] = in.palette[min(n-1, int(rawSample(data[y*stride:], x, in.bpc)))]
				}
			}
			return g, nil
		}
		m := image.NewRGBA(image.Rect(0, 0, in.w, in.h))
		for y := 0; y < in.h; y++ {
			for x := 0; x < in.w; x++ {
				e := 3 * min(n-1, int(rawSample(data[y*stride:], x, in.bpc)))
				copy(m.Pix[y*m.Stride+4*x:], in.palette[e:e+3])
				m.Pix[y*m.Stride+4*x+3] = 255
			}
		}
		return m, nil
	}
	g := image.NewGray(image.Rect(0, 0, in.w, in.h))
	parallelRows(in.h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			src := data[y*stride:]
			dst := g.Pix[y*g.Stride : y*g.Stride+in.w]
			for x := range dst {
				dst[x] = sampleAt(src, x, in.bpc)
			}
		}
	})
	if in.invert {
		invertGray(g)
	}
	return g, nil
}

// rawSample is sample i of a packed row of bpc-bit samples.
func rawSample(row []byte, i, bpc int) uint8 {
	if bpc == 8 {
		return row[i]
	}
	bit := i * bpc
	return row[bit/8] >> (8 - bpc - bit%8) & (1<<bpc - 1)
}

// sampleAt is rawSample scaled to 0..255.
func sampleAt(row []byte, i, bpc int) uint8 {
	v := rawSample(row, i, bpc)
	if bpc == 8 {
		return v
	}
	return uint8(int(v) * 255 / (1<<bpc - 1))
}

func invertGray(g *image.Gray) {
	for i := range g.Pix {
		g.Pix[i] = 255 - g.Pix[i]
	}
}
