package ui

import (
	"context"
	"errors"
	"image"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// previewSize is the enlarged view: most of a 1366x768 laptop screen at 125%.
var previewSize = fyne.NewSize(860, 560)

// tappableImage is a thumbnail that opens the enlarged view when clicked.
type tappableImage struct {
	widget.BaseWidget
	img   *canvas.Image
	onTap func()
}

func newTappableImage(img *canvas.Image, onTap func()) *tappableImage {
	t := &tappableImage{img: img, onTap: onTap}
	t.ExtendBaseWidget(t)
	return t
}

func (t *tappableImage) Tapped(*fyne.PointEvent) { t.onTap() }

func (t *tappableImage) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(t.img)
}

// preview is an enlarged image in a dialog over a window. Its title names no patient.
type preview struct {
	img  *canvas.Image
	note *widget.Label
	dlg  *dialog.CustomDialog
	// loaded is true once the agent's image is shown.
	loaded bool
}

// showPreview fetches an item's preview from the agent and shows it rotated by
// rotation; onShown runs once it is on screen (Unassigned waits for it before it
// offers to file the item).
func showPreview(a *App, win fyne.Window, itemID string, rotation int, title string, onShown func()) *preview {
	return showCroppedPreview(a, win, itemID, localapi.Crop{}, rotation, title, onShown)
}

// showCroppedPreview is showPreview of the part c of the image: what is sent.
func showCroppedPreview(a *App, win fyne.Window, itemID string, c localapi.Crop, rotation int, title string, onShown func()) *preview {
	p := &preview{note: widget.NewLabel("Loading the image…")}
	p.img = canvas.NewImageFromImage(image.NewNRGBA(image.Rect(0, 0, 4, 3)))
	p.img.FillMode = canvas.ImageFillContain
	p.img.SetMinSize(previewSize)
	p.dlg = dialog.NewCustom(title, "Close", container.NewVBox(p.img, p.note), win)
	p.dlg.Show()
	go func() {
		b, err := a.agent.Preview(context.Background(), itemID)
		var img image.Image
		if err == nil {
			img, err = decodeThumb(b)
		}
		a.opt.Do(func() {
			if err != nil {
				p.note.SetText(previewError(err))
				return
			}
			p.img.Image = rotate(cropUpright(img, c), rotation)
			p.img.Refresh()
			p.note.Hide()
			p.loaded = true
			if onShown != nil {
				onShown()
			}
		})
	}()
	return p
}

func previewError(err error) string {
	var ae *localapi.APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	return "The image could not be shown: the ClinicPro agent did not send it. Try again."
}

func (k *itemCard) showPreview() {
	it := captureItemOf(k.c.model.View(), k.id)
	showCroppedPreview(k.c.app, k.c.win, k.id, it.Crop, it.Rotation, it.FileName, nil)
}

// captureItemOf finds an item in a capture view.
func captureItemOf(v viewmodel.CaptureView, id string) viewmodel.CaptureItem {
	for _, it := range v.Items {
		if it.ID == id {
			return it
		}
	}
	return viewmodel.CaptureItem{ID: id}
}
