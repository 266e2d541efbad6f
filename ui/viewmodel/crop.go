package viewmodel

import (
	"math"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

// The crop tool's controls.
const (
	LabelCrop  = "Crop"
	TipCrop    = "Keep only part of the image. Applied when the image is converted for Medtech; the original file is not changed."
	TitleCrop  = "Crop"
	TextCrop   = "Drag across the image, or set each edge with its slider (Tab moves between them, the arrow keys move an edge). Enter applies, Esc cancels."
	LabelReset = "Whole image"
)

// CropEdit is the crop tool's state: the edges of the kept part in percent of the
// image as the GP sees it (turned by the item's rotation). The agent wants the crop
// in the upright image's fractions, before rotation; Crop converts.
type CropEdit struct {
	Rotation                 int // the item's clockwise rotation: 0, 90, 180, 270
	Left, Top, Right, Bottom float64
}

// Edges of the crop, for Set.
type Edge int

const (
	EdgeLeft Edge = iota
	EdgeTop
	EdgeRight
	EdgeBottom
)

// minPct is localapi.MinCropSide in percent.
var minPct = localapi.MinCropSide * 100

// NewCropEdit starts the tool on an item's crop (the whole image when it has none).
func NewCropEdit(c localapi.Crop, rotation int) *CropEdit {
	if c.Whole() {
		c = localapi.Crop{W: 1, H: 1}
	}
	v := CropToView(c, rotation)
	return &CropEdit{Rotation: rotation, Left: v.X * 100, Top: v.Y * 100, Right: (v.X + v.W) * 100, Bottom: (v.Y + v.H) * 100}
}

// Set moves one edge to pct (0 to 100), keeping the kept part at least
// localapi.MinCropSide wide and high; it returns where the edge ended up.
func (e *CropEdit) Set(edge Edge, pct float64) float64 {
	pct = math.Max(0, math.Min(100, pct))
	switch edge {
	case EdgeLeft:
		e.Left = math.Min(pct, e.Right-minPct)
		return e.Left
	case EdgeTop:
		e.Top = math.Min(pct, e.Bottom-minPct)
		return e.Top
	case EdgeRight:
		e.Right = math.Max(pct, e.Left+minPct)
		return e.Right
	case EdgeBottom:
		e.Bottom = math.Max(pct, e.Top+minPct)
		return e.Bottom
	}
	return pct
}

// Drag sets the crop to the rectangle between two points (fractions of the shown
// image), as a mouse drag across it does; a drag too small to mean anything is ignored.
func (e *CropEdit) Drag(x0, y0, x1, y1 float64) {
	l, r := math.Min(x0, x1)*100, math.Max(x0, x1)*100
	t, b := math.Min(y0, y1)*100, math.Max(y0, y1)*100
	l, t = math.Max(0, l), math.Max(0, t)
	r, b = math.Min(100, r), math.Min(100, b)
	if r-l < minPct || b-t < minPct {
		return
	}
	e.Left, e.Top, e.Right, e.Bottom = l, t, r, b
}

// Reset keeps the whole image.
func (e *CropEdit) Reset() { e.Left, e.Top, e.Right, e.Bottom = 0, 0, 100, 100 }

// View is the kept part in fractions of the image as shown.
func (e *CropEdit) View() localapi.Crop {
	return localapi.Crop{X: e.Left / 100, Y: e.Top / 100, W: (e.Right - e.Left) / 100, H: (e.Bottom - e.Top) / 100}
}

// Crop is what the agent is sent: the kept part in the upright image's fractions,
// the zero Crop for the whole image.
func (e *CropEdit) Crop() localapi.Crop {
	c := CropFromView(e.View(), e.Rotation)
	c = localapi.Crop{X: round4(c.X), Y: round4(c.Y), W: round4(c.W), H: round4(c.H)}
	if c.X <= 0 && c.Y <= 0 && c.W >= 1 && c.H >= 1 {
		return localapi.Crop{}
	}
	return c
}

func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

// CropToView turns an upright crop into the image as shown after rotation
// (clockwise quarter turns).
func CropToView(c localapi.Crop, rotation int) localapi.Crop {
	for range quarter(rotation) {
		// A quarter turn clockwise takes (x, y) to (1-y, x).
		c = localapi.Crop{X: 1 - (c.Y + c.H), Y: c.X, W: c.H, H: c.W}
	}
	return c
}

// CropFromView is CropToView's inverse.
func CropFromView(c localapi.Crop, rotation int) localapi.Crop {
	for range quarter(rotation) {
		// A quarter turn back takes (x, y) to (y, 1-x).
		c = localapi.Crop{X: c.Y, Y: 1 - (c.X + c.W), W: c.H, H: c.W}
	}
	return c
}

func quarter(rotation int) int { return ((rotation/90)%4 + 4) % 4 }
