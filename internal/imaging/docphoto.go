package imaging

import (
	"image"
	"math"
	"math/bits"
	"sort"

	"github.com/clinicpro/medtech-images/internal/imaging/geom"
)

// Phone photos of documents, as scanning apps treat them: find the page's
// four corners, undo the perspective, flatten the light, then go bilevel or
// grey like any scan.
//
// The page is found from its edges, not its brightness: under uneven light
// the far side of a page can be darker than a pale desk, but the border
// between them is a straight step in brightness all the same. A Hough
// transform of the edges of a small copy (text closed over first) gives
// candidate lines; pairs of roughly horizontal and roughly vertical ones
// make candidate quadrilaterals, scored by how much of each side is a real
// step (inside against outside), and by the frame's border where the page
// runs out of the picture.
//
// Whether it is a document at all is judged on the page itself, rectified
// and flattened (each colour channel divided by its own paper level, which
// removes a tint and the light alike): mostly paper, some ink, few
// mid-tones, almost no colour, and the ink set as text is: short marks in
// lines that repeat down the page. A white dressing on skin is a bright
// quadrilateral too, but has no ink; a label with text is too small a part
// of the frame to be the page; hair, pen marks and striped cloth run on in
// long strokes; moles and stubble are short marks, but not in lines.

// quad is a page's corners in image coordinates: top-left, top-right,
// bottom-right, bottom-left of the page as it should be read.
type quad [4][2]float64

// pageThumbEdge is the long edge of the copy the page is searched in.
const pageThumbEdge = 480

// minPageArea is the smallest fraction of the frame a page must cover.
const minPageArea = 0.2

// fplane is a float image of one channel.
type fplane struct {
	w, h int
	v    []float32
}

func (p *fplane) at(x, y int) float32 {
	return p.v[max(0, min(p.h-1, y))*p.w+max(0, min(p.w-1, x))]
}

// thumbRGB area-averages m into three planes with a long edge of about
// edge pixels, returning the scale (image pixels per thumb pixel).
func thumbRGB(m image.Image, edge int) ([3]*fplane, float64) {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	f := max(1, float64(max(w, h))/float64(edge))
	tw, th := max(1, int(float64(w)/f)), max(1, int(float64(h)/f))
	var out [3]*fplane
	for c := range out {
		out[c] = &fplane{w: tw, h: th, v: make([]float32, tw*th)}
	}
	// Average a 2 x 2 grid of samples in each thumb cell: enough to calm
	// noise at this scale, at a fraction of reading every pixel.
	parallelRows(th, func(y0, y1 int) {
		for ty := y0; ty < y1; ty++ {
			for tx := 0; tx < tw; tx++ {
				var s [3]float32
				for j := 0; j < 2; j++ {
					y := b.Min.Y + min(h-1, int((float64(ty)+(float64(j)+0.5)/2)*f))
					for i := 0; i < 2; i++ {
						x := b.Min.X + min(w-1, int((float64(tx)+(float64(i)+0.5)/2)*f))
						r, g, bb := rgbAt(m, x, y)
						s[0] += float32(r)
						s[1] += float32(g)
						s[2] += float32(bb)
					}
				}
				for c := range out {
					out[c].v[ty*tw+tx] = s[c] / 4
				}
			}
		}
	})
	return out, f
}

// rgbAt reads one pixel of a normalised image.
func rgbAt(m image.Image, x, y int) (uint8, uint8, uint8) {
	switch s := m.(type) {
	case *image.YCbCr:
		yy := s.Y[s.YOffset(x, y)]
		ci := s.COffset(x, y)
		return ycbcrToRGB(yy, s.Cb[ci], s.Cr[ci])
	case *image.Gray:
		v := s.Pix[s.PixOffset(x, y)]
		return v, v, v
	case *image.RGBA:
		i := s.PixOffset(x, y)
		return s.Pix[i], s.Pix[i+1], s.Pix[i+2]
	}
	r, g, b, _ := m.At(x, y).RGBA()
	return uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)
}

func ycbcrToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy := int32(y) * 0x10101
	cb1, cr1 := int32(cb)-128, int32(cr)-128
	r := yy + 91881*cr1
	g := yy - 22554*cb1 - 46802*cr1
	b := yy + 116130*cb1
	cl := func(v int32) uint8 {
		v = (v + 1<<15) >> 16
		return uint8(max(0, min(255, v)))
	}
	return cl(r), cl(g), cl(b)
}

func lumaOf(rgb [3]*fplane) *fplane {
	l := &fplane{w: rgb[0].w, h: rgb[0].h, v: make([]float32, len(rgb[0].v))}
	for i := range l.v {
		l.v[i] = 0.299*rgb[0].v[i] + 0.587*rgb[1].v[i] + 0.114*rgb[2].v[i]
	}
	return l
}

// morph returns the max (dilate) or min filter of p over a square of
// radius r: separably, each pass in constant time per pixel (van Herk and
// Gil-Werman: running extrema within blocks of 2r+1, read from both ends).
func morph(p *fplane, r int, dilate bool) *fplane {
	pick := func(a, b float32) float32 {
		if dilate == (b > a) {
			return b
		}
		return a
	}
	k := 2*r + 1
	line := func(src []float32, dst []float32, n, step int, pre, suf []float32) {
		// Pad with the edge values so the window clamps at the ends.
		at := func(i int) float32 { return src[max(0, min(n-1, i))*step] }
		m := n + 2*r
		for i := 0; i < m; i++ {
			v := at(i - r)
			if i%k == 0 {
				pre[i] = v
			} else {
				pre[i] = pick(pre[i-1], v)
			}
		}
		for i := m - 1; i >= 0; i-- {
			v := at(i - r)
			if i%k == k-1 || i == m-1 {
				suf[i] = v
			} else {
				suf[i] = pick(suf[i+1], v)
			}
		}
		for x := 0; x < n; x++ {
			// Window [x, x+2r] in padded indices.
			dst[x*step] = pick(suf[x], pre[x+2*r])
		}
	}
	tmp := &fplane{w: p.w, h: p.h, v: make([]float32, len(p.v))}
	out := &fplane{w: p.w, h: p.h, v: make([]float32, len(p.v))}
	buf := max(p.w, p.h) + 2*r
	parallelRows(p.h, func(y0, y1 int) {
		pre, suf := make([]float32, buf), make([]float32, buf)
		for y := y0; y < y1; y++ {
			line(p.v[y*p.w:], tmp.v[y*p.w:], p.w, 1, pre, suf)
		}
	})
	parallelRows(p.w, func(x0, x1 int) {
		pre, suf := make([]float32, buf), make([]float32, buf)
		for x := x0; x < x1; x++ {
			line(tmp.v[x:], out.v[x:], p.h, p.w, pre, suf)
		}
	})
	return out
}

// houghLine is a line x cos t + y sin t = rho, with its edge support.
type houghLine struct {
	theta, rho float64
	votes      float64
	border     bool // one of the frame's own edges
}

// findPage looks for a document page's four corners in m.
func findPage(m image.Image) (quad, bool) {
	rgb, f := thumbRGB(m, pageThumbEdge)
	l := lumaOf(rgb)
	w, h := l.w, l.h
	if w < 32 || h < 32 {
		return quad{}, false
	}
	// Close the text (dark strokes thinner than the filter) so the page is
	// one smooth bright region whose only strong edges are its border.
	closed := morph(morph(l, 3, true), 3, false)
	lines := houghLines(closed)
	best, bestScore := quad{}, 0.0
	var vert, horiz []houghLine
	for _, ln := range lines {
		// theta near 0 or pi: a vertical line; near pi/2: horizontal.
		if math.Abs(math.Cos(ln.theta)) > math.Sqrt2/2 {
			vert = append(vert, ln)
		} else {
			horiz = append(horiz, ln)
		}
	}
	for i := range vert {
		for j := i + 1; j < len(vert); j++ {
			for k := range horiz {
				for n := k + 1; n < len(horiz); n++ {
					q, ok := quadFrom(vert[i], vert[j], horiz[k], horiz[n], w, h)
					if !ok {
						continue
					}
					if s := scoreQuad(closed, q); s > bestScore {
						best, bestScore = q, s
					}
				}
			}
		}
	}
	if bestScore == 0 {
		return quad{}, false
	}
	// Corners found at the thumbnail's scale are a few source pixels out;
	// pulling them 1% towards the middle keeps the desk out of the page
	// (a page's margin is blank).
	cx := (best[0][0] + best[1][0] + best[2][0] + best[3][0]) / 4
	cy := (best[0][1] + best[1][1] + best[2][1] + best[3][1]) / 4
	for i := range best {
		best[i][0] = (best[i][0] + (cx-best[i][0])*0.01) * f
		best[i][1] = (best[i][1] + (cy-best[i][1])*0.01) * f
	}
	return best, true
}

// houghLines returns the strongest straight edges of p, and the frame's
// four borders.
func houghLines(p *fplane) []houghLine {
	w, h := p.w, p.h
	const nTheta = 180
	diag := int(math.Ceil(math.Hypot(float64(w), float64(h))))
	acc := make([]float64, nTheta*(2*diag+1))
	var cosT, sinT [nTheta]float64
	for t := range nTheta {
		cosT[t], sinT[t] = math.Cos(float64(t)*math.Pi/nTheta), math.Sin(float64(t)*math.Pi/nTheta)
	}
	// Sobel gradients; a pixel votes for lines through it whose normal is
	// within 6 degrees of its gradient.
	type edge struct {
		x, y, t int
		m       float64
	}
	var edges []edge
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			gx := float64(p.at(x+1, y-1) + 2*p.at(x+1, y) + p.at(x+1, y+1) - p.at(x-1, y-1) - 2*p.at(x-1, y) - p.at(x-1, y+1))
			gy := float64(p.at(x-1, y+1) + 2*p.at(x, y+1) + p.at(x+1, y+1) - p.at(x-1, y-1) - 2*p.at(x, y-1) - p.at(x+1, y-1))
			mg := math.Hypot(gx, gy) / 8
			if mg < 6 {
				continue
			}
			a := math.Atan2(gy, gx)
			if a < 0 {
				a += math.Pi
			}
			edges = append(edges, edge{x, y, int(math.Round(a/math.Pi*nTheta)) % nTheta, mg})
		}
	}
	if len(edges) == 0 {
		return borders(w, h)
	}
	for _, e := range edges {
		for dt := -6; dt <= 6; dt++ {
			t := (e.t + dt + nTheta) % nTheta
			r := int(math.Round(float64(e.x)*cosT[t]+float64(e.y)*sinT[t])) + diag
			acc[t*(2*diag+1)+r] += e.m
		}
	}
	// Peaks: local maxima over +-4 degrees and +-6 pixels.
	type peak struct {
		t, r int
		v    float64
	}
	var peaks []peak
	minVotes := 0.1 * float64(min(w, h)) * 8 // a tenth of the frame at a modest step
	for t := 0; t < nTheta; t++ {
		for r := 0; r <= 2*diag; r++ {
			v := acc[t*(2*diag+1)+r]
			if v < minVotes {
				continue
			}
			isMax := true
			for tt := max(0, t-4); tt <= min(nTheta-1, t+4) && isMax; tt++ {
				for rr := max(0, r-6); rr <= min(2*diag, r+6); rr++ {
					if (tt != t || rr != r) && acc[tt*(2*diag+1)+rr] > v {
						isMax = false
						break
					}
				}
			}
			if isMax {
				peaks = append(peaks, peak{t, r, v})
			}
		}
	}
	sort.Slice(peaks, func(i, j int) bool { return peaks[i].v > peaks[j].v })
	lines := borders(w, h)
	for _, pk := range peaks[:min(len(peaks), 14)] {
		lines = append(lines, houghLine{theta: float64(pk.t) * math.Pi / nTheta, rho: float64(pk.r - diag), votes: pk.v})
	}
	return lines
}

// borders are the frame's edges, for a page that runs out of the picture.
func borders(w, h int) []houghLine {
	return []houghLine{
		{theta: 0, rho: 0, border: true}, {theta: 0, rho: float64(w - 1), border: true},
		{theta: math.Pi / 2, rho: 0, border: true}, {theta: math.Pi / 2, rho: float64(h - 1), border: true},
	}
}

func intersect(a, b houghLine) (float64, float64, bool) {
	ca, sa, cb, sb := math.Cos(a.theta), math.Sin(a.theta), math.Cos(b.theta), math.Sin(b.theta)
	det := ca*sb - sa*cb
	if math.Abs(det) < 1e-6 {
		return 0, 0, false
	}
	return (a.rho*sb - b.rho*sa) / det, (ca*b.rho - cb*a.rho) / det, true
}

// quadFrom intersects two near-vertical and two near-horizontal lines into
// a convex quadrilateral inside the frame, corners ordered TL, TR, BR, BL.
func quadFrom(v1, v2, h1, h2 houghLine, w, h int) (quad, bool) {
	// Order the vertical lines left to right and horizontal top to bottom
	// by where they cross the frame's middle.
	midX := func(l houghLine) float64 {
		x, _, _ := intersect(l, houghLine{theta: math.Pi / 2, rho: float64(h) / 2})
		return x
	}
	midY := func(l houghLine) float64 { _, y, _ := intersect(l, houghLine{theta: 0, rho: float64(w) / 2}); return y }
	if midX(v1) > midX(v2) {
		v1, v2 = v2, v1
	}
	if midY(h1) > midY(h2) {
		h1, h2 = h2, h1
	}
	var q quad
	for i, pr := range [4][2]houghLine{{v1, h1}, {v2, h1}, {v2, h2}, {v1, h2}} {
		x, y, ok := intersect(pr[0], pr[1])
		if !ok || x < -0.03*float64(w) || x > 1.03*float64(w) || y < -0.03*float64(h) || y > 1.03*float64(h) {
			return q, false
		}
		q[i] = [2]float64{max(0, min(float64(w-1), x)), max(0, min(float64(h-1), y))}
	}
	if !convex(q) || quadArea(q) < minPageArea*float64(w*h) {
		return q, false
	}
	// Opposite sides of a page in perspective are within a factor of two
	// of each other, and its aspect is that of paper, give or take.
	side := func(a, b int) float64 { return math.Hypot(q[a][0]-q[b][0], q[a][1]-q[b][1]) }
	top, bottom, left, right := side(0, 1), side(3, 2), side(0, 3), side(1, 2)
	if top > 2*bottom || bottom > 2*top || left > 2*right || right > 2*left {
		return q, false
	}
	if a := (left + right) / (top + bottom); a < 0.55 || a > 1.9 {
		return q, false
	}
	return q, true
}

func convex(q quad) bool {
	sign := 0.0
	for i := range 4 {
		a, b, c := q[i], q[(i+1)%4], q[(i+2)%4]
		cr := (b[0]-a[0])*(c[1]-b[1]) - (b[1]-a[1])*(c[0]-b[0])
		if cr == 0 || sign != 0 && cr*sign < 0 {
			return false
		}
		sign = cr
	}
	return true
}

func quadArea(q quad) float64 {
	var s float64
	for i := range 4 {
		s += q[i][0]*q[(i+1)%4][1] - q[(i+1)%4][0]*q[i][1]
	}
	return math.Abs(s) / 2
}

// scoreQuad measures how much of each side is a step from a brighter inside
// to a darker outside; sides on the frame's border count as found. It
// returns 0 unless every side is mostly a real edge.
func scoreQuad(p *fplane, q quad) float64 {
	cx := (q[0][0] + q[1][0] + q[2][0] + q[3][0]) / 4
	cy := (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4
	total := 0.0
	real := 0
	for i := range 4 {
		a, b := q[i], q[(i+1)%4]
		onBorder := func(v, lim float64) bool { return v < 1.5 || v > lim-2.5 }
		if onBorder(a[0], float64(p.w)) && onBorder(b[0], float64(p.w)) && math.Abs(a[0]-b[0]) < 3 ||
			onBorder(a[1], float64(p.h)) && onBorder(b[1], float64(p.h)) && math.Abs(a[1]-b[1]) < 3 {
			total += 0.5 // the page runs out of the frame here
			continue
		}
		// Normal pointing inwards.
		nx, ny := -(b[1] - a[1]), b[0]-a[0]
		nl := math.Hypot(nx, ny)
		nx, ny = nx/nl, ny/nl
		mx, my := (a[0]+b[0])/2, (a[1]+b[1])/2
		if (cx-mx)*nx+(cy-my)*ny < 0 {
			nx, ny = -nx, -ny
		}
		const samples = 40
		support, contrast := 0, 0.0
		for k := 0; k < samples; k++ {
			t := (float64(k) + 0.5) / samples
			x, y := a[0]+(b[0]-a[0])*t, a[1]+(b[1]-a[1])*t
			in := p.at(int(x+4*nx), int(y+4*ny))
			out := p.at(int(x-4*nx), int(y-4*ny))
			d := float64(in - out)
			if d > 12 {
				support++
			}
			contrast += d
		}
		if support < samples*6/10 {
			return 0
		}
		real++
		total += float64(support)/samples + contrast/samples/255
	}
	if real < 2 { // the frame itself, or a page seen by only one edge
		return 0
	}
	return total * math.Sqrt(quadArea(q)/float64(p.w*p.h))
}

// Judging a page: rectified small, each channel divided by its own paper
// level, then counted.

// rectifyRGB samples quad q of m onto a w x h grid of three planes, each
// output pixel the mean of 2 x 2 samples.
func rectifyRGB(m image.Image, q quad, w, h int) [3]*fplane {
	hm := geom.SquareTo(q)
	b := m.Bounds()
	var out [3]*fplane
	for c := range out {
		out[c] = &fplane{w: w, h: h, v: make([]float32, w*h)}
	}
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			for x := 0; x < w; x++ {
				var s [3]float32
				for j := 0; j < 2; j++ {
					for i := 0; i < 2; i++ {
						sx, sy := hm.Apply((float64(x)+0.25+0.5*float64(i))/float64(w), (float64(y)+0.25+0.5*float64(j))/float64(h))
						px := b.Min.X + max(0, min(b.Dx()-1, int(sx)))
						py := b.Min.Y + max(0, min(b.Dy()-1, int(sy)))
						r, g, bb := rgbAt(m, px, py)
						s[0] += float32(r)
						s[1] += float32(g)
						s[2] += float32(bb)
					}
				}
				for c := range out {
					out[c].v[y*w+x] = s[c] / 4
				}
			}
		}
	})
	return out
}

// paperLevel estimates the paper's brightness under every pixel: the
// brightest value near it (ink is thinner than the window), smoothed.
func paperLevel(p *fplane, r int) *fplane {
	bg := morph(p, r, true)
	return boxBlur(bg, r)
}

// boxBlur is the mean over a square of radius r (edges clamped), with
// running sums.
func boxBlur(p *fplane, r int) *fplane {
	n := float32(2*r + 1)
	line := func(src, dst []float32, cnt, step int) {
		at := func(i int) float32 { return src[max(0, min(cnt-1, i))*step] }
		var s float32
		for i := -r; i <= r; i++ {
			s += at(i)
		}
		for x := 0; x < cnt; x++ {
			dst[x*step] = s / n
			s += at(x+r+1) - at(x-r)
		}
	}
	tmp := &fplane{w: p.w, h: p.h, v: make([]float32, len(p.v))}
	out := &fplane{w: p.w, h: p.h, v: make([]float32, len(p.v))}
	parallelRows(p.h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			line(p.v[y*p.w:], tmp.v[y*p.w:], p.w, 1)
		}
	})
	parallelRows(p.w, func(x0, x1 int) {
		for x := x0; x < x1; x++ {
			line(tmp.v[x:], out.v[x:], p.h, p.w)
		}
	})
	return out
}

// judgeEdge is the long edge of the rectified copy a page is judged on.
const judgeEdge = 512

// isDocumentPage rectifies q (the whole frame when it is the frame) small,
// flattens it, and decides whether it is a page of text: mostly paper, some
// ink in thin strokes, few mid-tones, almost no colour once the paper's
// own tint is divided out. Mistaking a photo for a document would destroy it
// (thresholding), so every test leans to "photo".
func isDocumentPage(m image.Image, q quad) bool {
	marks, text := judgePage(m, q, judgeEdge)
	if !marks || text {
		return marks && text
	}
	// Small print on a page that fills the frame: at 512 px a line of 10 pt
	// text is four or five pixels and the lines run together, so no pitch
	// shows. Where the photo has the pixels, the page is judged again at
	// twice the size, every test passing again.
	if pageLong(q) < 2*judgeEdge {
		return false
	}
	marks, text = judgePage(m, q, 2*judgeEdge)
	return marks && text
}

// pageSides is the page's width and height in source pixels: the longer of
// each pair of opposite sides of q.
func pageSides(q quad) (pw, ph float64) {
	side := func(a, b int) float64 { return math.Hypot(q[a][0]-q[b][0], q[a][1]-q[b][1]) }
	return max(side(0, 1), side(3, 2)), max(side(0, 3), side(1, 2))
}

// pageLong is the page's long side in source pixels.
func pageLong(q quad) float64 {
	pw, ph := pageSides(q)
	return max(pw, ph)
}

// judgePage judges q rectified to edge pixels on its long side: marks is
// whether it is paper with thin dark marks spread over it, text whether
// those marks are also set as text.
func judgePage(m image.Image, q quad, edge int) (marks, text bool) {
	pw, ph := pageSides(q)
	f := float64(edge) / max(pw, ph)
	w, h := max(16, int(pw*f)), max(16, int(ph*f))
	rgb := rectifyRGB(m, q, w, h)
	r := max(3, max(w, h)/60) // wider than a stroke of text, narrower than the light's changes
	// Light changes across the page but falls on every channel alike, so
	// brightness is judged against the local paper level; a paper tint is
	// the same all over, so colour is judged after dividing each channel by
	// its paper level over the whole page (the 95th percentile).
	lum := lumaOf(rgb)
	bg := paperLevel(lum, r)
	// Colour is judged a little blurred: a sensor's noise differs from
	// channel to channel, pixel by pixel, and on the dim side of a page
	// under heavy noise it looks like colour; a coloured object does not
	// go away when blurred.
	var wb [3]float32
	var soft [3]*fplane
	for c := range rgb {
		wb[c] = max(percentile(rgb[c].v, 0.95), 24)
		soft[c] = boxBlur(rgb[c], 1)
	}
	var bright, dark, mid, colourful, thin, n float64
	var rows [8]float64 // ink in horizontal bands, and vertical ones
	var cols [4]float64
	flat := &fplane{w: w, h: h, v: make([]float32, w*h)}
	for i, v := range lum.v {
		flat.v[i] = v / max(bg.v[i], 24)
	}
	// A margin is left out: the edges of a found page carry a little of
	// what is around it. So is anything dark that reaches the edge (a
	// sliver of desk where a page runs out of the frame, the dark border
	// of a scan): text keeps its distance from the paper's edge.
	mx0, my0 := w/40, h/40
	ink := inkMask(flat, mx0, my0)
	for y := my0; y < h-my0; y++ {
		for x := mx0; x < w-mx0; x++ {
			i := y*w + x
			v := flat.v[i]
			if v <= inkLevel && !ink[i] {
				continue // not on the page
			}
			n++
			c0, c1, c2 := soft[0].v[i]/wb[0], soft[1].v[i]/wb[1], soft[2].v[i]/wb[2]
			if mx, mn := max(c0, c1, c2), min(c0, c1, c2); mx > 0.25 && (mx-mn) > 0.12*mx {
				colourful++
			}
			switch {
			case v >= 0.8:
				bright++
			case v <= inkLevel:
				dark++
				// Ink comes in strokes: paper on both sides of it, across
				// or down, within a few pixels (the dark edge of a desk
				// or wall next to a pale card has paper on one side only).
				if paperBothSides(flat, x, y, r, 1, 0) || paperBothSides(flat, x, y, r, 0, 1) {
					thin++
				}
				rows[(y-my0)*8/(h-2*my0)]++
				cols[(x-mx0)*4/(w-2*mx0)]++
			default:
				mid++
			}
		}
	}
	// Text is spread over the page: ink in most bands across and down (a
	// label in one corner of a dressing is not).
	inked := func(b []float64) int {
		k := 0
		for _, v := range b {
			if v >= 0.002*n/float64(len(b)) {
				k++
			}
		}
		return k
	}
	// Mid-tones are few on a page of text once flattened: paper and ink,
	// and the edges of strokes (at most 7% in the tests' families). Cloth
	// woven finer than this scale averages into grey (15% to 25%).
	if !(bright >= 0.55*n && dark >= 0.01*n && dark <= 0.35*n && mid <= 0.12*n &&
		colourful <= 0.04*n && thin >= 0.6*dark && inked(rows[:]) >= 4 && inked(cols[:]) >= 3) {
		return false, false
	}
	// What has passed so far is paper with thin dark marks spread over it,
	// which hair on pale skin, pen marks round a lesion and striped cloth
	// also are. Text is set in lines of short marks: the marks do not run
	// on (hair, stripes and pen lines do), and the lines repeat at one
	// pitch over the page. And letters have strokes both down and across,
	// a pixel thick or more at this scale, where cloth woven finer than the
	// judging scale breaks into dashes one pixel thick that also repeat.
	return true, strokesBothWays(ink, w, h) && longMarks(ink, w, h) <= 0.25 && linesRepeat(ink, w, h)
}

// strokesBothWays reports whether at least a quarter of the ink has ink
// directly below it, and a quarter ink directly beside it. Letters' strokes
// run down and across (every letter in the tests' families scores 0.41 or
// more both ways); a thin stripe, or a fine weave aliased into dashes,
// has its ink in one direction only, or only diagonally (0.07 or less in
// the striped-cloth photos that passed every other test).
func strokesBothWays(ink []bool, w, h int) bool {
	var total, below, beside int
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if !ink[i] {
				continue
			}
			total++
			if y+1 < h && ink[i+w] {
				below++
			}
			if x+1 < w && ink[i+1] {
				beside++
			}
		}
	}
	return total > 0 && 4*below >= total && 4*beside >= total
}

// inkLevel is the flattened brightness (a fraction of the paper's) at or
// below which a pixel is ink.
const inkLevel = 0.55

// inkMask marks the ink of a flattened page inside its margins, leaving
// out every dark region that reaches the page's edge.
func inkMask(flat *fplane, mx0, my0 int) []bool {
	w, h := flat.w, flat.h
	edge := make([]bool, w*h) // dark and connected to the edge
	var stack []int
	push := func(x, y int) {
		if x < 0 || y < 0 || x >= w || y >= h {
			return
		}
		if i := y*w + x; !edge[i] && flat.v[i] <= inkLevel {
			edge[i] = true
			stack = append(stack, i)
		}
	}
	for x := 0; x < w; x++ {
		push(x, 0)
		push(x, h-1)
	}
	for y := 0; y < h; y++ {
		push(0, y)
		push(w-1, y)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := i%w, i/w
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				push(x+dx, y+dy)
			}
		}
	}
	ink := make([]bool, w*h)
	for y := my0; y < h-my0; y++ {
		for x := mx0; x < w-mx0; x++ {
			i := y*w + x
			ink[i] = flat.v[i] <= inkLevel && !edge[i]
		}
	}
	return ink
}

// longMarks is the fraction of ink that continues, across or down, for a
// thirty-second of the page or more (a line of text's height), following
// its own line as it drifts by up to one pixel a step: a stripe, a hair, a
// pen line. Letters are shorter; only rules, a signature and letters that
// touch run on (up to a fifth of a letter's ink in the tests' families).
func longMarks(ink []bool, w, h int) float64 {
	long := max(w, h) / 32
	run := make([]int32, w*h)
	total, runOn := 0, 0
	count := func() {
		for _, r := range run {
			if r >= int32(long) { // ink's run is 0 only off the ink
				runOn++
			}
		}
	}
	at := func(x, y int) int32 {
		if x < 0 || y < 0 || x >= w || y >= h {
			return 0
		}
		return run[y*w+x]
	}
	// Across: the length of the longest chain of ink starting at each
	// pixel and going right, one column a step.
	for x := w - 1; x >= 0; x-- {
		for y := 0; y < h; y++ {
			if i := y*w + x; ink[i] {
				run[i] = 1 + max(at(x+1, y-1), at(x+1, y), at(x+1, y+1))
			}
		}
	}
	count()
	across := runOn
	runOn = 0
	clear(run)
	for y := h - 1; y >= 0; y-- {
		for x := 0; x < w; x++ {
			if i := y*w + x; ink[i] {
				run[i] = 1 + max(at(x-1, y+1), at(x, y+1), at(x+1, y+1))
			}
		}
	}
	count()
	for _, v := range ink {
		if v {
			total++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(max(across, runOn)) / float64(total)
}

// linesRepeat reports whether the ink lies in repeating lines, as text
// does: a good part of the ink has more ink one line pitch below it (or
// beside it, for a page on its side), with fewer ink pairs at the offsets in
// between, where the gap between lines falls. Offsets straight down are used
// because they need no angle: lines tilted a few degrees, or converging a
// little in a page un-tilted from a photo, are still a pitch apart locally.
// Marks scattered at random (moles, stubble) have ink below them only as
// often as ink is anywhere, at every offset alike.
func linesRepeat(ink []bool, w, h int) bool {
	for _, across := range []bool{false, true} {
		if a := inkBelow(ink, w, h, across); lineRepeat(a) {
			return true
		}
	}
	return false
}

// inkBelow returns, for each offset d up to an eighth of the page, the
// fraction of ink pixels that have ink d pixels below them (or to their
// right, across).
func inkBelow(ink []bool, w, h int, across bool) []float64 {
	// Rows as bit sets: a row and the row d below are compared a word at
	// a time.
	at := func(x, y int) bool { return ink[y*w+x] }
	if across {
		w, h = h, w
		at = func(x, y int) bool { return ink[x*h+y] }
	}
	words := (w + 63) / 64
	rows := make([]uint64, words*h)
	total := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if at(x, y) {
				rows[y*words+x/64] |= 1 << (x % 64)
				total++
			}
		}
	}
	c := make([]float64, h/8+1)
	if total == 0 {
		return c
	}
	for d := 1; d < len(c); d++ {
		n := 0
		for y := 0; y+d < h; y++ {
			a, b := rows[y*words:(y+1)*words], rows[(y+d)*words:(y+d+1)*words]
			for i := range a {
				n += bits.OnesCount64(a[i] & b[i])
			}
		}
		c[d] = float64(n) / float64(total)
	}
	return c
}

// lineRepeat looks in c (from inkBelow) for a line pitch: an offset of 4
// pixels or more where c peaks at 0.15 or more, with a dip to 80% of that or
// less between a quarter and three quarters of it. Text scores 0.2 to 0.35
// at its pitch; scattered marks score their density, without a dip.
func lineRepeat(c []float64) bool {
	for l := 4; l+1 < len(c); l++ {
		if c[l] < 0.15 || c[l] < c[l-1] || c[l] < c[l+1] {
			continue
		}
		dip := c[l]
		for d := l / 4; d <= 3*l/4; d++ {
			dip = min(dip, c[d])
		}
		if dip <= 0.8*c[l] {
			return true
		}
	}
	return false
}

// frameQuad is the whole image as a quad.
func frameQuad(m image.Image) quad {
	w, h := float64(m.Bounds().Dx()), float64(m.Bounds().Dy())
	return quad{{0, 0}, {w, 0}, {w, h}, {0, h}}
}

// pageSize is the size a rectified page keeps: its longest sides in the
// source, at most maxLong.
func pageSize(q quad, maxLong int) (int, int) {
	pw, ph := pageSides(q)
	f := min(1, float64(maxLong)/max(pw, ph))
	return max(1, int(math.Round(pw*f))), max(1, int(math.Round(ph*f)))
}

// rectifyGray samples the luma of quad q of m onto a w x h page, bilinear.
func rectifyGray(m image.Image, q quad, w, h int) *image.Gray {
	hm := geom.SquareTo(q)
	g := toGray(m)
	sw, sh := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			row := out.Pix[y*out.Stride : y*out.Stride+w]
			for x := range row {
				sx, sy := hm.Apply((float64(x)+0.5)/float64(w), (float64(y)+0.5)/float64(h))
				sx, sy = sx-0.5, sy-0.5
				x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
				ax, ay := float32(sx-float64(x0)), float32(sy-float64(y0))
				at := func(x, y int) float32 {
					return float32(g.Pix[max(0, min(sh-1, y))*g.Stride+max(0, min(sw-1, x))])
				}
				v := (at(x0, y0)*(1-ax)+at(x0+1, y0)*ax)*(1-ay) + (at(x0, y0+1)*(1-ax)+at(x0+1, y0+1)*ax)*ay
				row[x] = uint8(max(0, min(255, v+0.5)))
			}
		}
	})
	return out
}

// flattenGray divides out uneven light: each pixel over the paper level
// around it (estimated at low resolution), so paper becomes white wherever
// the light fell and ink keeps its contrast to the paper it is on.
func flattenGray(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	f := max(1, max(w, h)/256)
	lw, lh := (w+f-1)/f, (h+f-1)/f
	small := &fplane{w: lw, h: lh, v: make([]float32, lw*lh)}
	for y := 0; y < lh; y++ {
		for x := 0; x < lw; x++ {
			// The cell's paper, if any is there: the mean of its pixels at
			// or above its mean (ink is below it). Its brightest pixel
			// would be the paper plus the sensor noise's largest excursion,
			// which on the dim side of a noisy page is a tenth of the level.
			var sum, n, upper, nu int
			for yy := y * f; yy < min(h, y*f+f); yy++ {
				for _, v := range g.Pix[yy*g.Stride+x*f : yy*g.Stride+min(w, x*f+f)] {
					sum += int(v)
					n++
				}
			}
			for yy := y * f; yy < min(h, y*f+f); yy++ {
				for _, v := range g.Pix[yy*g.Stride+x*f : yy*g.Stride+min(w, x*f+f)] {
					if int(v)*n >= sum {
						upper += int(v)
						nu++
					}
				}
			}
			small.v[y*lw+x] = float32(upper) / float32(nu)
		}
	}
	// The window is an eighth of the page: light changes more slowly than
	// that, and a letterhead's solid block is smaller. The cells are
	// smoothed a little first, for the same reason: the largest of many
	// noisy cells is the noise's largest excursion.
	bg := paperLevel(boxBlur(small, 2), 16)
	out := image.NewGray(image.Rect(0, 0, w, h))
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			fy := (float64(y)+0.5)/float64(f) - 0.5
			for x := 0; x < w; x++ {
				fx := (float64(x)+0.5)/float64(f) - 0.5
				x0, yy0 := int(math.Floor(fx)), int(math.Floor(fy))
				ax, ay := float32(fx-float64(x0)), float32(fy-float64(yy0))
				b := (bg.at(x0, yy0)*(1-ax)+bg.at(x0+1, yy0)*ax)*(1-ay) + (bg.at(x0, yy0+1)*(1-ax)+bg.at(x0+1, yy0+1)*ax)*ay
				v := float32(g.Pix[y*g.Stride+x]) * 255 / max(b, 24)
				out.Pix[y*out.Stride+x] = uint8(min(255, v+0.5))
			}
		}
	})
	return out
}

// findDocument decides whether m is a document and, for a photo of one,
// where its page is (nil: the whole frame is the page, as from a scanner).
func findDocument(m image.Image) (bool, *quad) {
	if mostlyColour(m) {
		return false, nil
	}
	if q, ok := findPage(m); ok && isDocumentPage(m, q) {
		return true, &q
	}
	return isDocumentPage(m, frameQuad(m)), nil
}

// percentile returns the p-th quantile of v (0..1) from a 256-bin histogram.
func percentile(v []float32, p float64) float32 {
	var hist [256]int
	for _, x := range v {
		hist[int(max(0, min(255, x)))]++
	}
	want := int(p * float64(len(v)))
	n := 0
	for i, c := range hist {
		n += c
		if n > want {
			return float32(i)
		}
	}
	return 255
}

// mostlyColour is the quick answer for most photos: after white balance
// (each channel over its 95th percentile), more than 85% of a 96 x 96
// sample grid is coloured. A page must cover a fifth of the frame and is
// colourless once its tint is divided out, so no document photo is lost.
func mostlyColour(m image.Image) bool {
	const grid = 96
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	var ch [3][]float32
	for c := range ch {
		ch[c] = make([]float32, 0, grid*grid)
	}
	for j := 0; j < grid; j++ {
		y := b.Min.Y + (2*j+1)*h/(2*grid)
		for i := 0; i < grid; i++ {
			x := b.Min.X + (2*i+1)*w/(2*grid)
			r, g, bb := rgbAt(m, x, y)
			ch[0] = append(ch[0], float32(r))
			ch[1] = append(ch[1], float32(g))
			ch[2] = append(ch[2], float32(bb))
		}
	}
	var wb [3]float32
	for c := range ch {
		wb[c] = max(percentile(ch[c], 0.95), 24)
	}
	coloured := 0
	for i := range ch[0] {
		c0, c1, c2 := ch[0][i]/wb[0], ch[1][i]/wb[1], ch[2][i]/wb[2]
		if mx, mn := max(c0, c1, c2), min(c0, c1, c2); mx > 0.2 && mx-mn > 0.12*mx {
			coloured++
		}
	}
	return coloured*100 > 85*grid*grid
}

// paperBothSides reports whether paper (>= 0.8 of its level) lies within r
// pixels of (x, y) in both directions along (dx, dy).
func paperBothSides(p *fplane, x, y, r, dx, dy int) bool {
	found := func(sign int) bool {
		for d := 1; d <= r; d++ {
			if p.at(x+sign*d*dx, y+sign*d*dy) >= 0.8 {
				return true
			}
		}
		return false
	}
	return found(1) && found(-1)
}
