// Package synth draws the photographs the imaging tests and benchmark need
// and the repository does not hold: phone photos of printed letters (a page
// in perspective on a desk, under uneven light, on tinted paper, with sensor
// noise), and clinical-looking photos that are not documents but have
// something of one (a white dressing on skin, a small printed label). Every
// picture comes from a seed, so a test can draw a whole family of variants
// and a failure names the one that failed.
package synth

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"

	"github.com/clinicpro/medtech-images/internal/imaging/geom"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Letter describes one phone photo of an A4 letter.
type Letter struct {
	W, H    int        // photo size in pixels
	Tint    [3]float64 // paper colour as multipliers of white (1, 1, 1: white)
	Desk    [3]float64 // desk colour, 0..255
	Falloff float64    // how much darker the far side is than the near one (0..0.6)
	Angle   float64    // direction the light falls off towards, radians
	Noise   float64    // sensor noise, standard deviation in levels
	Fill    float64    // page height as a fraction of the frame height (0.6..0.95)
	Turn    float64    // page rotation in the frame, radians
	Skew    float64    // perspective: corner displacement as a fraction of the page (0..0.12)
	Columns int        // page width in font pixels: 420 (0) is about 50 characters a line, 700 about 85 (10 pt)
	Seed    uint64
}

// RandomLetter draws a member of the family of letter photos: any tint from
// white to yellowed or blue-grey paper, light from even to 55% falloff, noise
// from none to heavy, tilted and in perspective.
func RandomLetter(seed uint64, w, h int) Letter {
	r := rand.New(rand.NewPCG(seed, 0x1e77e4))
	tints := [][3]float64{{1, 1, 1}, {1, 0.96, 0.86}, {0.93, 0.96, 1}, {0.9, 0.9, 0.9}, {1, 0.93, 0.93}, {0.97, 1, 0.92}}
	desks := [][3]float64{{92, 64, 40}, {40, 40, 44}, {150, 140, 128}, {70, 90, 120}, {120, 40, 40}}
	return Letter{
		W: w, H: h,
		Tint:    tints[r.IntN(len(tints))],
		Desk:    desks[r.IntN(len(desks))],
		Falloff: r.Float64() * 0.55,
		Angle:   r.Float64() * 2 * math.Pi,
		Noise:   r.Float64() * 9,
		Fill:    0.7 + r.Float64()*0.22,
		Turn:    (r.Float64() - 0.5) * 0.2,
		Skew:    r.Float64() * 0.1,
		Seed:    seed,
	}
}

// Corners returns where the page's corners land in the photo: top-left,
// top-right, bottom-right, bottom-left of the page as printed.
func (l Letter) Corners() [4][2]float64 {
	r := rand.New(rand.NewPCG(l.Seed, 0xc0))
	ph := l.Fill * float64(l.H)
	pw := ph / math.Sqrt2
	if pw > 0.95*float64(l.W) {
		pw = 0.95 * float64(l.W)
		ph = pw * math.Sqrt2
	}
	cx, cy := float64(l.W)/2, float64(l.H)/2
	base := [4][2]float64{{-pw / 2, -ph / 2}, {pw / 2, -ph / 2}, {pw / 2, ph / 2}, {-pw / 2, ph / 2}}
	var out [4][2]float64
	s, c := math.Sin(l.Turn), math.Cos(l.Turn)
	for i, p := range base {
		x := p[0]*c - p[1]*s
		y := p[0]*s + p[1]*c
		x += (r.Float64()*2 - 1) * l.Skew * pw
		y += (r.Float64()*2 - 1) * l.Skew * ph
		out[i] = [2]float64{cx + x, cy + y}
	}
	return out
}

// letterPage is the letter as printed, grey, 0 ink to 255 paper, w pixels wide
// and w*sqrt(2) tall: a letterhead, an address, a date, paragraphs of
// text, a signature and a footer rule. cols is the page's width in the
// font's pixels (the smaller the print, the more).
func letterPage(w, cols int) *image.Gray {
	h := int(float64(w) * math.Sqrt2)
	// Text is set in a 7x13 bitmap font at a fraction of the size and
	// enlarged, so strokes are a few pixels wide whatever w is.
	k := max(1, w/cols)
	small := image.NewGray(image.Rect(0, 0, w/k, h/k))
	draw.Draw(small, small.Rect, image.White, image.Point{}, draw.Src)
	sw := small.Rect.Dx()
	d := font.Drawer{Dst: small, Src: image.Black, Face: basicfont.Face7x13}
	line := func(x, y int, s string) {
		d.Dot = fixed.P(x, y)
		d.DrawString(s)
	}
	// Letterhead: a solid block and the practice's name.
	draw.Draw(small, image.Rect(sw/12, sw/14, sw/12+sw/9, sw/14+sw/9), image.Black, image.Point{}, draw.Src)
	line(sw/12+sw/9+10, sw/14+14, "RIVERSIDE SPECIALIST CLINIC")
	line(sw/12+sw/9+10, sw/14+30, "12 Example Road, Testville 0000")
	y := sw/14 + sw/9 + 40
	for _, s := range []string{"Dr A. Testing", "General Practice", "", "3 December 2026", "", "Re: ZZZ0016 TESTING, Patient", ""} {
		line(sw/12, y, s)
		y += 15
	}
	words := []string{"Thank", "you", "for", "referring", "this", "patient,", "whom", "I", "saw", "today", "in", "clinic.",
		"The", "rash", "on", "both", "forearms", "has", "improved", "with", "the", "emollient", "and", "a", "short",
		"course", "of", "topical", "steroid.", "I", "have", "arranged", "review", "in", "six", "weeks."}
	wi := 0
	for p := 0; p < 4 && y < small.Rect.Dy()-120; p++ {
		for l := 0; l < 6 && y < small.Rect.Dy()-120; l++ {
			x := sw / 12
			for x < sw-sw/12-60 {
				w := words[wi%len(words)]
				wi++
				line(x, y, w)
				x += 7*len(w) + 7
			}
			y += 15
		}
		y += 12
	}
	// Signature: a pen stroke.
	for t := 0.0; t < 1; t += 0.0005 {
		px := sw/12 + int(t*float64(sw)/3)
		py := y + 20 + int(12*math.Sin(t*25)+6*math.Sin(t*7))
		for dy := 0; dy < 2; dy++ {
			if small.Rect.Dy() > py+dy && py+dy >= 0 {
				small.SetGray(px, py+dy, color.Gray{})
			}
		}
	}
	// Footer rule.
	fy := small.Rect.Dy() - 40
	draw.Draw(small, image.Rect(sw/12, fy, sw-sw/12, fy+1), image.Black, image.Point{}, draw.Src)
	g := image.NewGray(image.Rect(0, 0, w, h))
	for yy := 0; yy < h; yy++ {
		row := small.Pix[min(yy/k, small.Rect.Dy()-1)*small.Stride:]
		for xx := 0; xx < w; xx++ {
			g.Pix[yy*w+xx] = row[min(xx/k, sw-1)]
		}
	}
	return g
}

// Draw renders the photo.
func (l Letter) Draw() *image.RGBA {
	c := l.Corners()
	// The page is rendered at about the size it covers, so strokes keep a
	// realistic width, and sampled bilinearly (a lens is never sharper).
	side := math.Hypot(c[1][0]-c[0][0], c[1][1]-c[0][1])
	cols := l.Columns
	if cols == 0 {
		cols = 420
	}
	page := letterPage(max(200, int(side)), cols)
	hinv := geom.SquareTo(c).Inverse()
	pw, ph := float64(page.Rect.Dx()), float64(page.Rect.Dy())
	m := image.NewRGBA(image.Rect(0, 0, l.W, l.H))
	noise := rand.New(rand.NewPCG(l.Seed, 0x5e))
	dx, dy := math.Cos(l.Angle), math.Sin(l.Angle)
	diag := math.Hypot(float64(l.W), float64(l.H)) / 2
	for y := 0; y < l.H; y++ {
		for x := 0; x < l.W; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			// Light: falls off along the angle, plus a little vignetting.
			rx, ry := fx-float64(l.W)/2, fy-float64(l.H)/2
			along := (rx*dx + ry*dy) / diag // -1..1
			light := (1 - l.Falloff*(along+1)/2) * (1 - 0.12*(rx*rx+ry*ry)/(diag*diag))
			u, v := hinv.Apply(fx, fy)
			var rgb [3]float64
			if u >= 0 && u <= 1 && v >= 0 && v <= 1 {
				p := bilinear(page, u*pw-0.5, v*ph-0.5) / 255
				ink := 0.08 + 0.92*p // ink is never quite black
				for i := range rgb {
					rgb[i] = 245 * l.Tint[i] * ink
				}
			} else {
				grain := 0.85 + 0.15*math.Sin(fy*0.05+math.Sin(fx*0.01)*3)
				for i := range rgb {
					rgb[i] = l.Desk[i] * grain
				}
			}
			o := m.Pix[y*m.Stride+4*x:]
			for i := range rgb {
				v := rgb[i]*light + noise.NormFloat64()*l.Noise
				o[i] = uint8(max(0, min(255, math.Round(v))))
			}
			o[3] = 255
		}
	}
	return m
}

func bilinear(g *image.Gray, x, y float64) float64 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	ax, ay := x-float64(x0), y-float64(y0)
	at := func(x, y int) float64 {
		return float64(g.Pix[max(0, min(h-1, y))*g.Stride+max(0, min(w-1, x))])
	}
	return (at(x0, y0)*(1-ax)+at(x0+1, y0)*ax)*(1-ay) + (at(x0, y0+1)*(1-ax)+at(x0+1, y0+1)*ax)*ay
}

// Skin is a clinical close-up that is not a document: skin texture under
// uneven light, and, when dressing is set, a plain white dressing in
// perspective (a bright quadrilateral with nothing printed on it), or, when
// label is set, a small printed label with text (under a tenth of the frame).
func Skin(seed uint64, w, h int, dressing, label bool) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0x5c1))
	tones := [][3]float64{{224, 172, 140}, {198, 134, 96}, {141, 85, 56}, {90, 56, 38}, {236, 200, 180}}
	base := tones[r.IntN(len(tones))]
	falloff := r.Float64() * 0.5
	noiseSD := r.Float64() * 8
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	var dq, lq geom.Mat3
	if dressing {
		c := [4][2]float64{}
		cx, cy := float64(w)*(0.35+0.3*r.Float64()), float64(h)*(0.35+0.3*r.Float64())
		s := float64(min(w, h)) * (0.25 + 0.25*r.Float64())
		for i, p := range [][2]float64{{-1, -0.7}, {1, -0.7}, {1, 0.7}, {-1, 0.7}} {
			c[i] = [2]float64{cx + p[0]*s*(0.9+0.2*r.Float64()), cy + p[1]*s*(0.9+0.2*r.Float64())}
		}
		dq = geom.SquareTo(c).Inverse()
	}
	var lab *image.Gray
	if label {
		lab = letterPage(120, 420)
		c := [4][2]float64{}
		cx, cy := float64(w)*0.75, float64(h)*0.75
		s := float64(min(w, h)) * 0.09
		for i, p := range [][2]float64{{-0.7, -1}, {0.7, -1}, {0.7, 1}, {-0.7, 1}} {
			c[i] = [2]float64{cx + p[0]*s, cy + p[1]*s}
		}
		lq = geom.SquareTo(c).Inverse()
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x), float64(y)
			light := 1 - falloff*fx/float64(w)
			// Pores and creases: a few octaves of smooth pattern.
			tex := 1 + 0.06*math.Sin(fx*0.21+3*math.Sin(fy*0.05)) + 0.04*math.Sin(fy*0.33+fx*0.07) + 0.05*math.Sin((fx+fy)*0.011)
			rgb := [3]float64{base[0] * tex, base[1] * tex, base[2] * tex}
			if dressing {
				if u, v := dq.Apply(fx, fy); u >= 0 && u <= 1 && v >= 0 && v <= 1 {
					rgb = [3]float64{246, 246, 240}
				}
			}
			if label {
				if u, v := lq.Apply(fx, fy); u >= 0 && u <= 1 && v >= 0 && v <= 1 {
					p := bilinear(lab, u*float64(lab.Rect.Dx()), v*float64(lab.Rect.Dy()))
					rgb = [3]float64{p, p, p}
				}
			}
			o := m.Pix[y*m.Stride+4*x:]
			for i := range rgb {
				o[i] = uint8(max(0, min(255, math.Round(rgb[i]*light+r.NormFloat64()*noiseSD))))
			}
			o[3] = 255
		}
	}
	return m
}

// Grey is a photo with almost no colour that is not a document either: a
// concrete or fabric texture under uneven light, with sensor noise, and,
// when sign is set, a plain pale rectangle on it (a blank card or a
// plaster). Low colour is not enough to make a page.
func Grey(seed uint64, w, h int, sign bool) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0x6e7))
	base := 90 + r.Float64()*110
	falloff := r.Float64() * 0.5
	noiseSD := r.Float64() * 8
	fx0, fy0 := r.Float64()*0.3, r.Float64()*0.3
	var sq geom.Mat3
	if sign {
		c := [4][2]float64{}
		cx, cy := float64(w)*(0.3+0.4*r.Float64()), float64(h)*(0.3+0.4*r.Float64())
		s := float64(min(w, h)) * (0.2 + 0.2*r.Float64())
		for i, p := range [][2]float64{{-1, -0.8}, {1, -0.8}, {1, 0.8}, {-1, 0.8}} {
			c[i] = [2]float64{cx + p[0]*s, cy + p[1]*s}
		}
		sq = geom.SquareTo(c).Inverse()
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x), float64(y)
			light := 1 - falloff*fy/float64(h)
			// Aggregate and pits: a few octaves of blotches.
			v := base * (1 + 0.12*math.Sin(fx*(0.05+fx0)+2*math.Sin(fy*0.07)) + 0.08*math.Sin(fy*(0.09+fy0)+fx*0.02) + 0.1*math.Sin((fx-fy)*0.013))
			if sign {
				if u, vv := sq.Apply(fx, fy); u >= 0 && u <= 1 && vv >= 0 && vv <= 1 {
					v = 238
				}
			}
			o := m.Pix[y*m.Stride+4*x:]
			for i := 0; i < 3; i++ {
				tint := 1 + 0.02*float64(i-1)
				o[i] = uint8(max(0, min(255, math.Round(v*tint*light+r.NormFloat64()*noiseSD))))
			}
			o[3] = 255
		}
	}
	return m
}
