package synth

import (
	"image"
	"math"
	"math/rand/v2"

	"github.com/clinicpro/medtech-images/internal/imaging/geom"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Scene is a kind of photo a GP takes that is not a document, drawn from a
// seed: each has something a page of text also has (pale areas, thin dark
// strokes, little colour once white-balanced, straight edges), so together
// they are the cases a document detector must not be fooled by.
type Scene struct {
	Name string
	Draw func(seed uint64, w, h int) *image.RGBA
}

// NotDocuments is the family of non-document scenes.
var NotDocuments = []Scene{
	{"wound with a paper ruler", wound},
	{"hairy skin", hairySkin},
	{"face against a pale wall", face},
	{"dark wall", darkWall},
	{"woven or striped fabric", fabric},
	{"pale skin with pen marks", markedSkin},
	{"moles, freckles or stubble", spots},
}

// canvas is a float RGB picture the scenes paint on before light, noise and
// quantisation are applied once.
type canvas struct {
	w, h int
	v    []float64
}

func newCanvas(w, h int) *canvas { return &canvas{w: w, h: h, v: make([]float64, 3*w*h)} }

func (c *canvas) set(x, y int, rgb [3]float64) {
	if x < 0 || y < 0 || x >= c.w || y >= c.h {
		return
	}
	copy(c.v[3*(y*c.w+x):], rgb[:])
}

// blend mixes rgb into pixel (x, y) with weight a.
func (c *canvas) blend(x, y int, rgb [3]float64, a float64) {
	if x < 0 || y < 0 || x >= c.w || y >= c.h {
		return
	}
	p := c.v[3*(y*c.w+x):]
	for i := range 3 {
		p[i] = p[i]*(1-a) + rgb[i]*a
	}
}

// stroke draws a line of the given width (pixels) from a to b with soft
// edges, as a lens renders a hair or a pen line.
func (c *canvas) stroke(ax, ay, bx, by, width float64, rgb [3]float64) {
	x0, x1 := int(math.Floor(min(ax, bx)-width-1)), int(math.Ceil(max(ax, bx)+width+1))
	y0, y1 := int(math.Floor(min(ay, by)-width-1)), int(math.Ceil(max(ay, by)+width+1))
	dx, dy := bx-ax, by-ay
	l2 := max(dx*dx+dy*dy, 1e-9)
	for y := max(0, y0); y <= min(c.h-1, y1); y++ {
		for x := max(0, x0); x <= min(c.w-1, x1); x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := max(0, min(1, ((px-ax)*dx+(py-ay)*dy)/l2))
			d := math.Hypot(px-(ax+t*dx), py-(ay+t*dy))
			if a := max(0, min(1, width/2+0.5-d)); a > 0 {
				c.blend(x, y, rgb, a)
			}
		}
	}
}

// finish applies light falling off along angle (0..falloff darker), a
// little vignetting, exposure (values above 255 clip as a sensor does) and
// Gaussian noise of sd levels.
func (c *canvas) finish(r *rand.Rand, falloff, angle, exposure, sd float64) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, c.w, c.h))
	dx, dy := math.Cos(angle), math.Sin(angle)
	diag := math.Hypot(float64(c.w), float64(c.h)) / 2
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			rx, ry := float64(x)+0.5-float64(c.w)/2, float64(y)+0.5-float64(c.h)/2
			along := (rx*dx + ry*dy) / diag
			light := exposure * (1 - falloff*(along+1)/2) * (1 - 0.1*(rx*rx+ry*ry)/(diag*diag))
			p := c.v[3*(y*c.w+x):]
			o := m.Pix[y*m.Stride+4*x:]
			for i := range 3 {
				o[i] = uint8(max(0, min(255, math.Round(p[i]*light+r.NormFloat64()*sd))))
			}
			o[3] = 255
		}
	}
	return m
}

// skinField paints skin of the given tone with pores, creases and patches
// of redness (skin is not one colour: erythema and veins shift its hue).
func skinField(c *canvas, r *rand.Rand, tone [3]float64) {
	p1, p2 := r.Float64()*6, r.Float64()*6
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			fx, fy := float64(x), float64(y)
			tex := 1 + 0.05*math.Sin(fx*0.23+3*math.Sin(fy*0.05+p1)) + 0.04*math.Sin(fy*0.31+fx*0.07) + 0.03*math.Sin((fx+fy)*0.013+p2)
			red := 0.5 + 0.5*math.Sin(fx*0.017+p1)*math.Sin(fy*0.021+p2)
			c.set(x, y, [3]float64{tone[0] * tex * (1 + 0.04*red), tone[1] * tex * (1 - 0.06*red), tone[2] * tex * (1 - 0.05*red)})
		}
	}
}

var skinTones = [][3]float64{{224, 172, 140}, {198, 134, 96}, {141, 85, 56}, {90, 56, 38}, {236, 200, 180}, {245, 215, 195}}

// wound is a leg or foot ulcer: a wound bed of red granulation, yellow
// slough and black eschar on skin, with a paper measuring ruler (ticks and
// numbers) laid beside it, as wound photographs are taken.
func wound(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0x3007d))
	c := newCanvas(w, h)
	skinField(c, r, skinTones[r.IntN(len(skinTones))])
	cx, cy := float64(w)*(0.4+0.2*r.Float64()), float64(h)*(0.35+0.2*r.Float64())
	rad := float64(min(w, h)) * (0.12 + 0.15*r.Float64())
	ph := [3]float64{r.Float64() * 6, r.Float64() * 6, r.Float64() * 6}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			a := math.Atan2(dy, dx)
			edge := rad * (1 + 0.18*math.Sin(3*a+ph[0]) + 0.1*math.Sin(5*a+ph[1]))
			d := math.Hypot(dx*1.3, dy)
			switch {
			case d < edge:
				// Granulation, slough and eschar in patches.
				n := math.Sin(float64(x)*0.09+ph[2]) + math.Sin(float64(y)*0.07+ph[0]) + 0.6*math.Sin(float64(x+y)*0.2)
				rgb := [3]float64{175, 45, 50}
				if n > 1 {
					rgb = [3]float64{205, 180, 95}
				} else if n < -1.3 {
					rgb = [3]float64{35, 22, 18}
				}
				c.set(x, y, rgb)
			case d < edge*1.15: // inflamed rim
				c.blend(x, y, [3]float64{200, 90, 90}, 0.6)
			}
		}
	}
	// The ruler: a white paper strip across the bottom of the frame, a tick
	// every millimetre, longer every five, a number every ten.
	rh := float64(h) * (0.08 + 0.04*r.Float64())
	ry := float64(h) - rh*(1.3+0.5*r.Float64())
	x0, x1 := float64(w)*0.05, float64(w)*(0.75+0.2*r.Float64())
	for y := int(ry); y < int(ry+rh); y++ {
		for x := int(x0); x < int(x1); x++ {
			c.set(x, y, [3]float64{242, 242, 236})
		}
	}
	mm := max(2, float64(w)/120)
	for k := 0; x0+4+float64(k)*mm < x1-4; k++ {
		x := x0 + 4 + float64(k)*mm
		l := rh * 0.25
		if k%5 == 0 {
			l = rh * 0.45
		}
		c.stroke(x, ry, x, ry+l, 1, [3]float64{20, 20, 20})
		if k%10 == 0 {
			text(c, int(x)-3, int(ry+rh*0.9), string(rune('0'+k/10%10)), [3]float64{20, 20, 20})
		}
	}
	return c.finish(r, r.Float64()*0.4, r.Float64()*2*math.Pi, 1, r.Float64()*7)
}

// text draws s in the 7x13 bitmap font with its baseline at y.
func text(c *canvas, x, y int, s string, rgb [3]float64) {
	g := image.NewAlpha(image.Rect(0, 0, 8*len(s), 16))
	d := font.Drawer{Dst: g, Src: image.Opaque, Face: basicfont.Face7x13, Dot: fixed.P(0, 12)}
	d.DrawString(s)
	for j := 0; j < 16; j++ {
		for i := 0; i < g.Rect.Dx(); i++ {
			if a := g.Pix[j*g.Stride+i]; a > 0 {
				c.blend(x+i, y-12+j, rgb, float64(a)/255)
			}
		}
	}
}

// hairySkin is a close-up of a pale forearm or shin, overexposed by the
// flash, with dark hairs lying in one direction: thin dark strokes spread
// over a bright, nearly colourless field once white-balanced, as text is.
func hairySkin(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0x4a1e))
	c := newCanvas(w, h)
	skinField(c, r, skinTones[[]int{0, 4, 5}[r.IntN(3)]])
	flow := r.Float64() * math.Pi
	n := int(float64(w*h) / 400 * (0.5 + r.Float64()))
	hair := [3]float64{40 + 30*r.Float64(), 28 + 15*r.Float64(), 20 + 10*r.Float64()}
	for range n {
		x, y := r.Float64()*float64(w), r.Float64()*float64(h)
		a := flow + (r.Float64()-0.5)*0.8
		l := float64(min(w, h)) * (0.04 + 0.1*r.Float64())
		bend := (r.Float64() - 0.5) * 0.6
		// A hair curves: three segments turning a little each.
		for range 3 {
			nx, ny := x+math.Cos(a)*l/3, y+math.Sin(a)*l/3
			c.stroke(x, y, nx, ny, 0.8+0.9*r.Float64(), hair)
			x, y, a = nx, ny, a+bend
		}
	}
	return c.finish(r, r.Float64()*0.35, r.Float64()*2*math.Pi, 1.05+0.15*r.Float64(), r.Float64()*6)
}

// markedSkin is pale skin with a surgeon's pen marks: a dotted outline
// round a lesion, a line and a few letters and numbers written on it.
func markedSkin(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0x3a4c))
	c := newCanvas(w, h)
	skinField(c, r, skinTones[[]int{0, 4, 5, 1}[r.IntN(4)]])
	ink := [][3]float64{{60, 30, 110}, {30, 30, 40}, {20, 60, 120}}[r.IntN(3)]
	cx, cy := float64(w)*(0.35+0.3*r.Float64()), float64(h)*(0.35+0.3*r.Float64())
	rad := float64(min(w, h)) * (0.15 + 0.15*r.Float64())
	// The lesion, then the outline round it.
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if math.Hypot(float64(x)-cx, float64(y)-cy) < rad*0.4 {
				c.blend(x, y, [3]float64{120, 70, 55}, 0.8)
			}
		}
	}
	for k := 0; k < 40; k += 2 {
		a0, a1 := float64(k)/40*2*math.Pi, float64(k+1)/40*2*math.Pi
		c.stroke(cx+rad*math.Cos(a0), cy+rad*math.Sin(a0), cx+rad*math.Cos(a1), cy+rad*math.Sin(a1), 2, ink)
	}
	c.stroke(cx-rad*1.6, cy+rad*1.3, cx+rad*1.6, cy+rad*1.1, 2, ink)
	text(c, int(cx+rad*1.1), int(cy-rad*0.9), []string{"R", "L2", "A", "3cm"}[r.IntN(4)], ink)
	return c.finish(r, r.Float64()*0.4, r.Float64()*2*math.Pi, 1+0.1*r.Float64(), r.Float64()*6)
}

// face is a head and shoulders against a pale wall: dark hair, eyebrows,
// eyes and a mouth on skin, clothing below.
func face(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0xface))
	c := newCanvas(w, h)
	wall := 215 + 30*r.Float64()
	wt := [3]float64{wall, wall * (0.97 + 0.03*r.Float64()), wall * (0.92 + 0.08*r.Float64())}
	for i := 0; i < w*h; i++ {
		copy(c.v[3*i:], wt[:])
	}
	tone := skinTones[r.IntN(len(skinTones))]
	hairRGB := [][3]float64{{30, 22, 18}, {90, 60, 35}, {150, 120, 80}, {60, 60, 60}}[r.IntN(4)]
	cloth := [][3]float64{{40, 60, 110}, {200, 200, 205}, {120, 30, 40}, {50, 50, 50}}[r.IntN(4)]
	cx, cy := float64(w)*(0.4+0.2*r.Float64()), float64(h)*(0.42+0.08*r.Float64())
	fh := float64(h) * (0.3 + 0.12*r.Float64())
	fw := fh * 0.72
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x), float64(y)
			u, v := (fx-cx)/fw, (fy-cy)/fh
			switch {
			case u*u+v*v < 1:
				shade := 1 - 0.15*u
				c.set(x, y, [3]float64{tone[0] * shade, tone[1] * shade, tone[2] * shade})
				if v < -0.55 { // hair over the forehead
					c.set(x, y, hairRGB)
				}
			case u*u+(v+0.15)*(v+0.15) < 1.25 && v < 0.2: // hair round the head
				c.set(x, y, hairRGB)
			case fy > cy+fh*0.9 && math.Abs(fx-cx) < fw*(1.8+(fy-cy-fh)/fh): // shoulders
				c.set(x, y, cloth)
			}
		}
	}
	for _, s := range []float64{-1, 1} {
		ex, ey := cx+s*fw*0.38, cy-fh*0.12
		for y := int(ey - fh*0.06); y <= int(ey+fh*0.06); y++ {
			for x := int(ex - fw*0.17); x <= int(ex+fw*0.17); x++ {
				u, v := (float64(x)-ex)/(fw*0.17), (float64(y)-ey)/(fh*0.06)
				if u*u+v*v < 1 {
					c.set(x, y, [3]float64{235, 235, 230})
					if u*u*9+v*v*2.2 < 1 {
						c.set(x, y, [3]float64{50, 40, 30})
					}
				}
			}
		}
		c.stroke(ex-fw*0.2, ey-fh*0.13, ex+fw*0.2, ey-fh*0.16, max(2, fh/40), hairRGB)
	}
	c.stroke(cx-fw*0.25, cy+fh*0.45, cx+fw*0.25, cy+fh*0.45, max(3, fh/25), [3]float64{150, 60, 60})
	return c.finish(r, r.Float64()*0.45, r.Float64()*2*math.Pi, 1, r.Float64()*7)
}

// darkWall is a dim painted wall with a pale light switch plate on it, or
// a door frame's edge: mostly dark, with straight edges and a small pale
// rectangle with dark marks.
func darkWall(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0xda2c))
	c := newCanvas(w, h)
	base := 35 + 50*r.Float64()
	tint := [3]float64{1, 0.95 + 0.1*r.Float64(), 0.85 + 0.2*r.Float64()}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			roll := 1 + 0.05*math.Sin(float64(x)*0.3+2*math.Sin(float64(y)*0.02))
			c.set(x, y, [3]float64{base * tint[0] * roll, base * tint[1] * roll, base * tint[2] * roll})
		}
	}
	if r.IntN(2) == 0 { // a door frame down one side
		fx := int(float64(w) * (0.1 + 0.8*r.Float64()))
		for y := 0; y < h; y++ {
			for x := fx; x < min(w, fx+w/12); x++ {
				c.set(x, y, [3]float64{base * 1.8, base * 1.8, base * 1.7})
			}
		}
	}
	// The switch plate, a little in perspective.
	s := float64(min(w, h)) * (0.12 + 0.1*r.Float64())
	px, py := float64(w)*(0.3+0.4*r.Float64()), float64(h)*(0.3+0.4*r.Float64())
	q := [4][2]float64{{px - s/2, py - s/2}, {px + s/2, py - s/2*0.95}, {px + s/2, py + s/2*0.95}, {px - s/2, py + s/2}}
	inv := geom.SquareTo(q).Inverse()
	for y := int(py - s); y < int(py+s); y++ {
		for x := int(px - s); x < int(px+s); x++ {
			if u, v := inv.Apply(float64(x), float64(y)); u >= 0 && u <= 1 && v >= 0 && v <= 1 {
				c.set(x, y, [3]float64{225, 222, 210})
				if math.Abs(u-0.5) < 0.1 && math.Abs(v-0.5) < 0.2 {
					c.set(x, y, [3]float64{170, 168, 160}) // the rocker
				}
			}
		}
	}
	c.stroke(px, py-s*0.4, px, py-s*0.35, 2, [3]float64{40, 40, 40}) // screws
	c.stroke(px, py+s*0.35, px, py+s*0.4, 2, [3]float64{40, 40, 40})
	return c.finish(r, r.Float64()*0.5, r.Float64()*2*math.Pi, 1, r.Float64()*9)
}

// fabric is woven cloth filling the frame (a sheet, a gown, a shirt):
// pale with thin dark stripes, a check, or a herringbone, creased into folds.
func fabric(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0xfab))
	c := newCanvas(w, h)
	pale := 210 + 35*r.Float64()
	dark := [][3]float64{{40, 45, 70}, {60, 60, 60}, {90, 40, 40}, {30, 30, 30}}[r.IntN(4)]
	pitch := 6 + 14*r.Float64()
	width := 1 + 2*r.Float64()
	turn := r.Float64() * math.Pi
	kind := r.IntN(3) // stripes, check, herringbone
	st, ct := math.Sin(turn), math.Cos(turn)
	fold := r.Float64() * 6
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x), float64(y)
			u, v := fx*ct+fy*st, -fx*st+fy*ct
			// Folds bend the weave and shade it.
			bend := 6 * math.Sin(v*0.02+fold)
			u += bend
			shade := 1 - 0.18*(0.5+0.5*math.Sin(u*0.015+v*0.01+fold))
			line := func(t float64) float64 { // 1 on a stripe, soft edges
				d := math.Abs(math.Mod(t+pitch*100, pitch) - pitch/2)
				return max(0, min(1, width/2+0.5-d))
			}
			a := line(u)
			switch kind {
			case 1:
				a = max(a, line(v))
			case 2:
				if int(math.Floor(v/(3*pitch)))%2 == 0 {
					a = line(u + v*0.5)
				} else {
					a = line(u - v*0.5)
				}
			}
			thread := 1 + 0.04*math.Sin(fx*1.7)*math.Sin(fy*1.9)
			var rgb [3]float64
			for i := range rgb {
				rgb[i] = (pale*(1-a) + dark[i]*a) * shade * thread
			}
			c.set(x, y, rgb)
		}
	}
	return c.finish(r, r.Float64()*0.4, r.Float64()*2*math.Pi, 1, r.Float64()*7)
}

// spots is pale skin dotted with small dark marks spread all over it:
// moles and freckles on a back, or the stubble of shaved skin. Short marks
// like letters, but not in lines.
func spots(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 0x5b075))
	c := newCanvas(w, h)
	skinField(c, r, skinTones[[]int{0, 4, 5, 1}[r.IntN(4)]])
	stubble := r.IntN(2) == 0
	n := int(float64(w*h) / 150 * (0.5 + r.Float64()))
	if !stubble {
		n /= 4
	}
	for range n {
		x, y := r.Float64()*float64(w), r.Float64()*float64(h)
		if stubble { // a short dark stub, mostly one way
			a := 0.8 + (r.Float64()-0.5)*0.8
			l := 2 + 3*r.Float64()
			c.stroke(x, y, x+l*math.Cos(a), y+l*math.Sin(a), 1+r.Float64(), [3]float64{45, 35, 30})
			continue
		}
		rad := 0.8 + 3*r.Float64()*r.Float64()
		dark := [3]float64{90 + 60*r.Float64(), 55 + 40*r.Float64(), 40 + 30*r.Float64()}
		for yy := int(y - rad - 1); yy <= int(y+rad+1); yy++ {
			for xx := int(x - rad - 1); xx <= int(x+rad+1); xx++ {
				if d := math.Hypot(float64(xx)+0.5-x, float64(yy)+0.5-y); d < rad+0.5 {
					c.blend(xx, yy, dark, max(0, min(1, rad+0.5-d)))
				}
			}
		}
	}
	return c.finish(r, r.Float64()*0.4, r.Float64()*2*math.Pi, 1+0.1*r.Float64(), r.Float64()*6)
}
