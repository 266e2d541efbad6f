package viewmodel

import (
	"context"
	"math"
	"testing"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

func near(a, b localapi.Crop) bool {
	d := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	return d(a.X, b.X) && d(a.Y, b.Y) && d(a.W, b.W) && d(a.H, b.H)
}

// TestCropFollowsTheRotationShown: the GP draws on the image as shown (turned by
// Rotate); the agent gets the same part of the upright image.
func TestCropFollowsTheRotationShown(t *testing.T) {
	upright := localapi.Crop{X: 0.1, Y: 0.2, W: 0.3, H: 0.4}
	want := map[int]localapi.Crop{
		0:   upright,
		90:  {X: 0.4, Y: 0.1, W: 0.4, H: 0.3}, // the top-left corner (0.1,0.2) goes to (0.8,0.1): the rect's top-right
		180: {X: 0.6, Y: 0.4, W: 0.3, H: 0.4},
		270: {X: 0.2, Y: 0.6, W: 0.4, H: 0.3},
	}
	for rot, v := range want {
		if got := CropToView(upright, rot); !near(got, v) {
			t.Errorf("rotation %d: shown as %+v, want %+v", rot, got, v)
		}
		if back := CropFromView(v, rot); !near(back, upright) {
			t.Errorf("rotation %d: back to %+v, want %+v", rot, back, upright)
		}
	}
}

// TestCropEditByKeyboardAndDrag: each edge moves on its own, never past the other
// (the kept part stays at least 5% of the image); a drag draws a new crop; Reset
// and a full-size crop send the whole image.
func TestCropEditByKeyboardAndDrag(t *testing.T) {
	e := NewCropEdit(localapi.Crop{}, 90)
	if e.Left != 0 || e.Top != 0 || e.Right != 100 || e.Bottom != 100 || e.Crop() != (localapi.Crop{}) {
		t.Fatalf("new tool = %+v, crop %+v", e, e.Crop())
	}
	e.Set(EdgeLeft, 25)
	if got := e.Set(EdgeRight, 10); got != 30 {
		t.Fatalf("right edge pushed past the left: %v", got)
	}
	e.Set(EdgeRight, 75)
	e.Set(EdgeTop, 10)
	e.Set(EdgeBottom, 60)
	// Shown (turned 90): x 25-75 %, y 10-60 %. Upright: x = y shown, y = 1 - right shown.
	if got := e.Crop(); !near(got, localapi.Crop{X: 0.1, Y: 0.25, W: 0.5, H: 0.5}) {
		t.Fatalf("crop sent = %+v", got)
	}
	e.Drag(0.9, 0.9, 0.5, 0.4)
	if v := e.View(); !near(v, localapi.Crop{X: 0.5, Y: 0.4, W: 0.4, H: 0.5}) {
		t.Fatalf("drag = %+v", v)
	}
	e.Drag(0.5, 0.5, 0.51, 0.9) // a slip of the mouse
	if v := e.View(); !near(v, localapi.Crop{X: 0.5, Y: 0.4, W: 0.4, H: 0.5}) {
		t.Fatalf("a 1%% drag changed the crop to %+v", v)
	}
	e.Reset()
	if e.Crop() != (localapi.Crop{}) {
		t.Fatalf("reset crop = %+v", e.Crop())
	}
	if again := NewCropEdit(localapi.Crop{X: 0.1, Y: 0.25, W: 0.5, H: 0.5}, 90); again.Left != 25 || again.Right != 75 {
		t.Fatalf("tool reopened on a crop = %+v", again)
	}
}

// TestCropTravelsWithTheSave: the crop is an edit like the others: sent with Save,
// kept by the agent, and not changeable once saved.
func TestCropTravelsWithTheSave(t *testing.T) {
	a, c := launched(t)
	id := add(t, c, "wound.jpg")
	c.SetCrop(id, localapi.Crop{X: 0.5, Y: 0, W: 0.7, H: 1}) // outside the image: ignored
	if got := c.View().Items[0].Crop; got != (localapi.Crop{}) {
		t.Fatalf("an invalid crop was kept: %+v", got)
	}
	want := localapi.Crop{X: 0.1, Y: 0.2, W: 0.5, H: 0.5}
	c.SetCrop(id, want)
	if err := c.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	it, err := a.Item(context.Background(), id)
	if err != nil || it.Crop == nil || *it.Crop != want {
		t.Fatalf("agent has %+v, %v; want crop %+v", it.Crop, err, want)
	}
	c.SetCrop(id, localapi.Crop{W: 1, H: 1})
	if got := c.View().Items[0].Crop; got != want {
		t.Fatalf("a saved item's crop changed to %+v", got)
	}
}
