// Command gen draws the product's icons (app, tray states, Medtech toolbar) as PNGs.
// They are drawn from geometry rather than shipped as third-party art, so their
// licence is ours and a colour or shape change is a one-line edit: run
// `go generate ./assets` and commit the PNGs.
package main

import (
	"flag"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
)

// shape is a signed distance in unit square coordinates: negative inside.
type shape func(x, y float64) float64

type layer struct {
	s shape
	c color.NRGBA
}

func circle(cx, cy, r float64) shape {
	return func(x, y float64) float64 { return math.Hypot(x-cx, y-cy) - r }
}

func roundRect(x0, y0, x1, y1, r float64) shape {
	cx, cy, hx, hy := (x0+x1)/2, (y0+y1)/2, (x1-x0)/2-r, (y1-y0)/2-r
	return func(x, y float64) float64 {
		dx, dy := math.Abs(x-cx)-hx, math.Abs(y-cy)-hy
		out := math.Hypot(math.Max(dx, 0), math.Max(dy, 0))
		return out + math.Min(math.Max(dx, dy), 0) - r
	}
}

// line is a stroke with round caps from (ax,ay) to (bx,by), half-width w.
func line(ax, ay, bx, by, w float64) shape {
	return func(x, y float64) float64 {
		px, py, vx, vy := x-ax, y-ay, bx-ax, by-ay
		t := math.Max(0, math.Min(1, (px*vx+py*vy)/(vx*vx+vy*vy)))
		return math.Hypot(px-t*vx, py-t*vy) - w
	}
}

// render paints layers in order with 8x8 supersampling for smooth edges at tray sizes.
func render(size int, layers []layer) *image.NRGBA {
	const ss = 8
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					var c color.NRGBA
					for _, l := range layers {
						if l.s(x, y) <= 0 {
							c = l.c
						}
					}
					ca := float64(c.A) / 255
					r, g, b, a = r+float64(c.R)*ca, g+float64(c.G)*ca, b+float64(c.B)*ca, a+ca
				}
			}
			n := float64(ss * ss)
			if a == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{R: uint8(r/a + 0.5), G: uint8(g/a + 0.5), B: uint8(b/a + 0.5), A: uint8(a/n*255 + 0.5)})
		}
	}
	return img
}

var (
	white  = color.NRGBA{255, 255, 255, 255}
	teal   = color.NRGBA{0x00, 0x79, 0x6B, 255} // the product colour
	green  = color.NRGBA{0x2E, 0x7D, 0x32, 255}
	blue   = color.NRGBA{0x15, 0x65, 0xC0, 255}
	amber  = color.NRGBA{0xE6, 0x8A, 0x00, 255}
	grey   = color.NRGBA{0x61, 0x61, 0x61, 255}
	orange = color.NRGBA{0xC6, 0x28, 0x28, 255}
)

// camera is the product's glyph: a camera body with a lens in bg's colour, scaled
// by k about the centre (k<1 leaves room for a badge).
func camera(bg color.NRGBA, k, ox, oy float64) []layer {
	t := func(v, o float64) float64 { return o + (v-0.5)*k + 0.5 }
	return []layer{
		{roundRect(t(0.36, ox), t(0.24, oy), t(0.58, ox), t(0.40, oy), 0.03*k), white},
		{roundRect(t(0.18, ox), t(0.32, oy), t(0.82, ox), t(0.76, oy), 0.08*k), white},
		{circle(t(0.5, ox), t(0.54, oy), 0.16*k), bg},
		{circle(t(0.5, ox), t(0.54, oy), 0.10*k), white},
		{circle(t(0.72, ox), t(0.40, oy), 0.03*k), bg},
	}
}

// trayIcon is a coloured disc with the camera and, for states other than ok, a
// badge whose shape (not only its colour) tells the state, for colour-blind users.
func trayIcon(bg color.NRGBA, badge []layer) []layer {
	ls := []layer{{circle(0.5, 0.5, 0.5), bg}}
	if badge == nil {
		return append(ls, camera(bg, 0.95, 0, 0)...)
	}
	ls = append(ls, camera(bg, 0.8, -0.06, -0.06)...)
	ls = append(ls, layer{circle(0.76, 0.76, 0.25), white})
	return append(ls, badge...)
}

func main() {
	out := flag.String("out", ".", "directory to write PNGs into")
	flag.Parse()
	bx, by := 0.76, 0.76
	icons := map[string][]layer{
		// App icon: rounded square, as Windows and Fyne show app icons.
		"app.png": append([]layer{{roundRect(0.02, 0.02, 0.98, 0.98, 0.2), teal}}, camera(teal, 1, 0, 0)...),
		// Medtech's toolbar shows small square icons on a light bar.
		"medtech-toolbar.png": append([]layer{{roundRect(0, 0, 1, 1, 0.16), teal}}, camera(teal, 1.1, 0, 0.02)...),
		"tray-ok.png":         trayIcon(green, nil),
		"tray-uploading.png": trayIcon(blue, []layer{
			{circle(bx, by, 0.2), blue},
			{line(bx, by+0.11, bx, by-0.10, 0.035), white},
			{line(bx, by-0.11, bx-0.08, by-0.03, 0.035), white},
			{line(bx, by-0.11, bx+0.08, by-0.03, 0.035), white},
		}),
		"tray-attention.png": trayIcon(amber, []layer{
			{circle(bx, by, 0.2), amber},
			{line(bx, by-0.11, bx, by+0.03, 0.04), white},
			{circle(bx, by+0.11, 0.04), white},
		}),
		"tray-offline.png": trayIcon(grey, []layer{
			{circle(bx, by, 0.2), orange},
			{line(bx-0.08, by-0.08, bx+0.08, by+0.08, 0.035), white},
			{line(bx-0.08, by+0.08, bx+0.08, by-0.08, 0.035), white},
		}),
	}
	sizes := map[string]int{"app.png": 256, "medtech-toolbar.png": 32}
	for name, ls := range icons {
		size := sizes[name]
		if size == 0 {
			size = 64
		}
		f, err := os.Create(filepath.Join(*out, name))
		if err != nil {
			log.Fatal(err)
		}
		if err := png.Encode(f, render(size, ls)); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}
