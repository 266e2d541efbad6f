package ui

import (
	"context"
	"image"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// attentionWindow lists every parked or waiting item with its reason and what can
// be done with it, so a GP recovers an item without practice IT or the CLI.
type attentionWindow struct {
	app    *App
	win    fyne.Window
	hint   *widget.Label
	errLbl *widget.Label
	list   *fyne.Container
	thumbs map[string]image.Image
}

// ShowAttention opens (or brings forward) the Needs attention window.
func (a *App) ShowAttention() {
	a.mu.Lock()
	w := a.atWin
	a.mu.Unlock()
	if w == nil {
		w = newAttentionWindow(a)
		a.mu.Lock()
		a.atWin = w
		a.mu.Unlock()
	}
	w.win.Show()
	w.win.RequestFocus()
	go func() { _ = a.attention.Refresh(context.Background()) }()
}

func newAttentionWindow(a *App) *attentionWindow {
	w := &attentionWindow{app: a, win: a.fa.NewWindow(viewmodel.TitleMain + " - " + viewmodel.PlaceNeedsAttention), thumbs: map[string]image.Image{}}
	w.win.SetIcon(appIcon)
	w.hint = widget.NewLabel("")
	w.hint.Wrapping = fyne.TextWrapWord
	w.errLbl = widget.NewLabel("")
	w.errLbl.Wrapping = fyne.TextWrapWord
	w.errLbl.Importance = widget.DangerImportance
	w.list = container.NewVBox()
	w.win.SetContent(container.NewBorder(container.NewVBox(w.hint, w.errLbl, widget.NewSeparator()), nil, nil, nil, container.NewVScroll(w.list)))
	w.win.Resize(fyne.NewSize(760, 520))
	w.win.SetOnClosed(func() {
		a.mu.Lock()
		a.atWin = nil
		a.mu.Unlock()
	})
	w.win.Canvas().SetOnTypedKey(func(k *fyne.KeyEvent) {
		if k.Name == fyne.KeyEscape {
			w.win.Close()
		}
	})
	w.refresh()
	return w
}

func (w *attentionWindow) refresh() {
	rows, errText := w.app.attention.Items()
	if len(rows) == 0 {
		w.hint.SetText("Nothing needs attention: every image was saved to Medtech or is on its way.")
	} else {
		w.hint.SetText("These images are kept on this PC. Each says why it was not saved and what to do.")
	}
	w.errLbl.SetText(errText)
	if errText == "" {
		w.errLbl.Hide()
	} else {
		w.errLbl.Show()
	}
	objs := make([]fyne.CanvasObject, 0, len(rows))
	target := w.app.patientWindow()
	for _, r := range rows {
		objs = append(objs, w.row(r, target))
	}
	w.list.Objects = objs
	w.list.Refresh()
}

func (w *attentionWindow) row(r viewmodel.AttentionItem, target *CaptureWindow) fyne.CanvasObject {
	img := canvas.NewImageFromImage(image.NewNRGBA(image.Rect(0, 0, 4, 3)))
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(unassignedThumb)
	if t, ok := w.thumbs[r.ID]; ok {
		img.Image = t
	} else {
		go func() {
			b, err := w.app.agent.Thumbnail(context.Background(), r.ID)
			if err != nil {
				return
			}
			t, err := decodeThumb(b)
			if err != nil {
				return
			}
			w.app.opt.Do(func() {
				w.thumbs[r.ID] = t
				img.Image = t
				img.Refresh()
			})
		}()
	}
	thumb := newTappableImage(img, func() { showPreview(w.app, w.win, r.ID, 0, r.FileName, nil) })
	name := widget.NewLabelWithStyle(r.FileName, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.Truncation = fyne.TextTruncateEllipsis
	sentence := widget.NewLabel(r.Sentence)
	sentence.Wrapping = fyne.TextWrapWord
	sentence.Importance = widget.DangerImportance
	if r.Waiting {
		sentence.Importance = widget.WarningImportance
	}
	fix := widget.NewLabel(r.Fix)
	fix.Wrapping = fyne.TextWrapWord
	act := func(f func(context.Context) error) func() {
		return func() { go func() { _ = f(context.Background()) }() }
	}
	var buttons []fyne.CanvasObject
	if r.CanRetry {
		buttons = append(buttons, newTipButton(viewmodel.LabelRetry, theme.ViewRefreshIcon(), "Send it again as it is.",
			act(func(ctx context.Context) error { return w.app.attention.Retry(ctx, r.ID) })))
	}
	if r.CanSendAgain {
		b := newTipButton("Send again", theme.MailSendIcon(), "Only after checking the patient's Inbox Scan in Medtech: it is sent as a new document.",
			act(func(ctx context.Context) error { return w.app.attention.SendAgain(ctx, r.ID) }))
		b.Importance = widget.HighImportance
		buttons = append(buttons, b)
	}
	if r.CanGive {
		b := newTipButton("Give to the open patient", theme.AccountIcon(), "File it under the patient open in ClinicPro instead.", func() {
			if t := w.app.patientWindow(); t != nil {
				go func() { _ = w.app.attention.Give(context.Background(), r.ID, t.model) }()
			}
		})
		if target == nil {
			b.Disable()
		}
		buttons = append(buttons, b)
	}
	if r.CanDiscard {
		buttons = append(buttons, newTipButton("Discard to Rejected", theme.DeleteIcon(), "Move it to the Rejected folder; it is not deleted.",
			act(func(ctx context.Context) error { return w.app.attention.Discard(ctx, r.ID) })))
	}
	text := container.NewVBox(name, sentence, fix, container.NewHBox(buttons...))
	return container.NewVBox(container.NewBorder(nil, nil, thumb, nil, text), widget.NewSeparator())
}
