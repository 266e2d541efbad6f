package ui

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// cropUpright returns the part c of an upright image (the agent's thumbnails and
// previews are upright), so the card and the enlarged view show what is sent.
func cropUpright(img image.Image, c localapi.Crop) image.Image {
	if img == nil || c.Whole() || !c.Valid() {
		return img
	}
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	r := image.Rect(int(math.Floor(c.X*w)), int(math.Floor(c.Y*h)), int(math.Ceil((c.X+c.W)*w)), int(math.Ceil((c.Y+c.H)*h))).
		Add(b.Min).Intersect(b)
	if r.Empty() {
		return img
	}
	out := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(out, out.Rect, img, r.Min, draw.Src)
	return out
}

// cropTool is the Crop dialog: the image as it will be turned, the kept part
// outlined and the rest dimmed; a drag across the image draws the crop, and four
// sliders set its edges from the keyboard (Tab between them, arrows to move, Enter
// applies, Esc cancels).
type cropTool struct {
	edit    *viewmodel.CropEdit
	img     *canvas.Image
	area    *cropArea
	sliders [4]*cropSlider
	dlg     *dialog.ConfirmDialog
	apply   func(localapi.Crop)
}

func (k *itemCard) showCrop() {
	it := captureItemOf(k.c.model.View(), k.id)
	if !it.Editable() {
		return
	}
	t := &cropTool{edit: viewmodel.NewCropEdit(it.Crop, it.Rotation)}
	t.apply = func(c localapi.Crop) { k.c.model.SetCrop(k.id, c) }
	t.img = canvas.NewImageFromImage(image.NewNRGBA(image.Rect(0, 0, 4, 3)))
	t.img.FillMode = canvas.ImageFillContain
	t.img.SetMinSize(fyne.NewSize(520, 300))
	if k.thumb != nil {
		t.setImage(rotate(k.thumb, it.Rotation))
	}
	t.area = newCropArea(t)
	names := [4]string{"Left", "Top", "Right", "Bottom"}
	cells := make([]fyne.CanvasObject, 4)
	for i := range t.sliders {
		s := newCropSlider(t, viewmodel.Edge(i))
		t.sliders[i] = s
		cells[i] = container.NewBorder(nil, nil, widget.NewLabel(names[i]), nil, s)
	}
	// Left | right over top | bottom; Tab goes in that order.
	form := container.NewGridWithColumns(2, cells[0], cells[2], cells[1], cells[3])
	reset := widget.NewButtonWithIcon(viewmodel.LabelReset, theme.ViewRestoreIcon(), func() {
		t.edit.Reset()
		t.sync()
	})
	note := widget.NewLabel(viewmodel.TextCrop)
	note.Wrapping = fyne.TextWrapWord
	content := container.NewBorder(nil, container.NewVBox(form, container.NewHBox(reset), note), nil, nil, container.NewStack(t.img, t.area))
	t.dlg = dialog.NewCustomConfirm(viewmodel.TitleCrop, "Apply", "Cancel", content, func(ok bool) {
		if ok {
			t.apply(t.edit.Crop())
		}
	}, k.c.win)
	t.dlg.Resize(fyne.NewSize(640, 540))
	t.sync()
	t.dlg.Show()
	k.c.crop = t
	k.c.win.Canvas().Focus(t.sliders[0])
	// The preview is sharper than the thumbnail: fetch it, as Enlarge does.
	go func() {
		b, err := k.c.app.agent.Preview(context.Background(), k.id)
		if err != nil {
			return
		}
		img, err := decodeThumb(b)
		if err != nil {
			return
		}
		k.c.app.opt.Do(func() { t.setImage(rotate(img, it.Rotation)) })
	}()
}

func (t *cropTool) setImage(img image.Image) {
	t.img.Image = img
	t.img.Refresh()
	if t.area != nil {
		t.area.Refresh()
	}
}

// sync shows the edit in the sliders and the outline.
func (t *cropTool) sync() {
	vals := [4]float64{t.edit.Left, t.edit.Top, t.edit.Right, t.edit.Bottom}
	for i, s := range t.sliders {
		if s != nil && s.Value != vals[i] {
			s.syncing = true
			s.SetValue(vals[i])
			s.syncing = false
		}
	}
	t.area.Refresh()
}

func (t *cropTool) close(apply bool) {
	if apply {
		t.apply(t.edit.Crop())
	}
	t.dlg.Hide()
}

// cropSlider sets one edge in percent; Enter applies the crop and Esc cancels.
type cropSlider struct {
	widget.Slider
	tool    *cropTool
	edge    viewmodel.Edge
	syncing bool
}

func newCropSlider(t *cropTool, edge viewmodel.Edge) *cropSlider {
	s := &cropSlider{tool: t, edge: edge}
	s.Min, s.Max, s.Step = 0, 100, 1
	s.ExtendBaseWidget(s)
	s.OnChanged = func(v float64) {
		if s.syncing {
			return
		}
		if got := t.edit.Set(edge, v); got != v {
			s.syncing = true
			s.SetValue(got)
			s.syncing = false
		}
		t.area.Refresh()
	}
	return s
}

func (s *cropSlider) TypedKey(k *fyne.KeyEvent) {
	switch k.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		s.tool.close(true)
	case fyne.KeyEscape:
		s.tool.close(false)
	default:
		s.Slider.TypedKey(k)
	}
}

// cropArea lies over the image: it dims what is cut away, outlines what is kept,
// and turns a drag across the image into a crop.
type cropArea struct {
	widget.BaseWidget
	tool      *cropTool
	from      fyne.Position
	dragging  bool
	shade     [4]*canvas.Rectangle
	outline   *canvas.Rectangle
	container *fyne.Container
}

func newCropArea(t *cropTool) *cropArea {
	a := &cropArea{tool: t}
	dim := color.NRGBA{A: 150}
	for i := range a.shade {
		a.shade[i] = canvas.NewRectangle(dim)
	}
	a.outline = canvas.NewRectangle(color.Transparent)
	a.outline.StrokeColor = theme.Color(theme.ColorNamePrimary)
	a.outline.StrokeWidth = 2
	a.container = container.NewWithoutLayout(a.shade[0], a.shade[1], a.shade[2], a.shade[3], a.outline)
	a.ExtendBaseWidget(a)
	return a
}

func (a *cropArea) CreateRenderer() fyne.WidgetRenderer { return &cropRenderer{a: a} }

// shown is where the image is drawn inside the area (ImageFillContain).
func (a *cropArea) shown() (pos fyne.Position, size fyne.Size) {
	sz := a.Size()
	img := a.tool.img.Image
	if img == nil || img.Bounds().Empty() || sz.Width <= 0 || sz.Height <= 0 {
		return fyne.NewPos(0, 0), sz
	}
	ar := float32(img.Bounds().Dx()) / float32(img.Bounds().Dy())
	w, h := sz.Width, sz.Width/ar
	if h > sz.Height {
		h, w = sz.Height, sz.Height*ar
	}
	return fyne.NewPos((sz.Width-w)/2, (sz.Height-h)/2), fyne.NewSize(w, h)
}

func (a *cropArea) frac(p fyne.Position) (float64, float64) {
	o, s := a.shown()
	if s.Width <= 0 || s.Height <= 0 {
		return 0, 0
	}
	return float64((p.X - o.X) / s.Width), float64((p.Y - o.Y) / s.Height)
}

func (a *cropArea) Dragged(e *fyne.DragEvent) {
	if !a.dragging {
		a.dragging, a.from = true, e.Position.Subtract(e.Dragged)
	}
	x0, y0 := a.frac(a.from)
	x1, y1 := a.frac(e.Position)
	a.tool.edit.Drag(x0, y0, x1, y1)
	a.tool.sync()
}

func (a *cropArea) DragEnd() { a.dragging = false }

type cropRenderer struct{ a *cropArea }

func (r *cropRenderer) Layout(size fyne.Size) {
	a := r.a
	a.container.Resize(size)
	o, s := a.shown()
	v := a.tool.edit.View()
	x0, y0 := o.X+float32(v.X)*s.Width, o.Y+float32(v.Y)*s.Height
	x1, y1 := x0+float32(v.W)*s.Width, y0+float32(v.H)*s.Height
	place := func(rc *canvas.Rectangle, x, y, w, h float32) {
		rc.Move(fyne.NewPos(x, y))
		rc.Resize(fyne.NewSize(max(0, w), max(0, h)))
	}
	place(a.shade[0], o.X, o.Y, s.Width, y0-o.Y)         // above
	place(a.shade[1], o.X, y1, s.Width, o.Y+s.Height-y1) // below
	place(a.shade[2], o.X, y0, x0-o.X, y1-y0)            // left
	place(a.shade[3], x1, y0, o.X+s.Width-x1, y1-y0)     // right
	place(a.outline, x0, y0, x1-x0, y1-y0)
}

func (r *cropRenderer) MinSize() fyne.Size { return fyne.NewSize(1, 1) }
func (r *cropRenderer) Refresh() {
	r.Layout(r.a.Size())
	for _, o := range r.a.container.Objects {
		canvas.Refresh(o)
	}
}
func (r *cropRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.a.container} }
func (r *cropRenderer) Destroy()                     {}
