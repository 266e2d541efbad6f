package ui

import (
	"context"
	"fmt"
	"image"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// unassignedWindow lists watched-folder files with no patient.
type unassignedWindow struct {
	app    *App
	win    fyne.Window
	hint   *widget.Label
	errLbl *widget.Label
	list   *fyne.Container
	all    *widget.Check
	// assignSel and rejectSel act on the ticked rows after one confirmation.
	assignSel, rejectSel *widget.Button
	thumbs               map[string]image.Image
	refreshing           bool
	// confirm is the open assignment confirmation, if any, with its Assign button
	// (enabled once every image in it is on screen) and its patient band.
	confirm      *dialog.CustomDialog
	confirmOK    *widget.Button
	confirmBand  *patientBand
	confirmShown map[string]bool
}

// ShowUnassigned opens (or brings forward) the Unassigned window.
func (a *App) ShowUnassigned() {
	a.mu.Lock()
	w := a.unWin
	a.mu.Unlock()
	if w == nil {
		w = newUnassignedWindow(a)
		a.mu.Lock()
		a.unWin = w
		a.mu.Unlock()
	}
	w.win.Show()
	w.win.RequestFocus()
	go func() { _ = a.unassigned.Refresh(context.Background()) }()
}

// UnassignedWindow is the open Unassigned window, or nil.
func (a *App) UnassignedWindow() fyne.Window {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.unWin == nil {
		return nil
	}
	return a.unWin.win
}

func newUnassignedWindow(a *App) *unassignedWindow {
	u := &unassignedWindow{app: a, win: a.fa.NewWindow(viewmodel.TitleMain + " - Unassigned"), thumbs: map[string]image.Image{}}
	u.win.SetIcon(appIcon)
	u.hint = widget.NewLabel("")
	u.hint.Wrapping = fyne.TextWrapWord
	u.errLbl = widget.NewLabel("")
	u.errLbl.Wrapping = fyne.TextWrapWord
	u.errLbl.Importance = widget.DangerImportance
	u.all = widget.NewCheck("Select all", func(on bool) {
		if !u.refreshing {
			u.app.unassigned.SelectAll(on)
		}
	})
	u.assignSel = widget.NewButtonWithIcon("Assign selected to open patient…", theme.ConfirmIcon(), func() { u.confirmAssign(u.app.unassigned.Selected()) })
	u.assignSel.Importance = widget.HighImportance
	u.rejectSel = widget.NewButtonWithIcon("Reject selected…", theme.CancelIcon(), func() { u.confirmReject(u.app.unassigned.Selected()) })
	u.list = container.NewVBox()
	top := container.NewVBox(u.hint, u.errLbl, container.NewHBox(u.all, layout.NewSpacer(), u.rejectSel, u.assignSel), widget.NewSeparator())
	u.win.SetContent(container.NewBorder(top, nil, nil, nil, container.NewVScroll(u.list)))
	u.win.Resize(fyne.NewSize(720, 520))
	u.win.SetOnClosed(func() {
		a.mu.Lock()
		a.unWin = nil
		a.mu.Unlock()
	})
	u.win.Canvas().SetOnTypedKey(func(k *fyne.KeyEvent) {
		if k.Name == fyne.KeyEscape {
			u.win.Close()
		}
	})
	u.refresh()
	return u
}

func (u *unassignedWindow) refresh() {
	u.refreshing = true
	defer func() { u.refreshing = false }()
	items, errText := u.app.unassigned.Items()
	target := u.app.patientWindow()
	switch {
	case len(items) == 0:
		u.hint.SetText("Nothing is waiting: every file from the watched folders has a patient.")
	case target == nil:
		u.hint.SetText("These files have no NHI in their name or folder. To assign them, open the patient in Medtech and click the ClinicPro icon.")
	default:
		u.hint.SetText("These files have no NHI in their name or folder. Click an image to see it large. Tick the ones for the patient open in ClinicPro and assign them, or reject them (they are moved to the Rejected folder, not deleted).")
	}
	u.errLbl.SetText(errText)
	if errText == "" {
		u.errLbl.Hide()
	} else {
		u.errLbl.Show()
	}
	sel := u.app.unassigned.Selected()
	u.all.SetChecked(len(items) > 0 && len(sel) == len(items))
	setEnabled(u.assignSel, target != nil && len(sel) > 0)
	setEnabled(u.rejectSel, len(sel) > 0)
	rows := make([]fyne.CanvasObject, 0, len(items))
	for _, it := range items {
		rows = append(rows, u.row(it, target))
	}
	u.list.Objects = rows
	u.list.Refresh()
}

// unassignedThumb is a row's picture: the agent's thumbnail, clickable for the preview.
var unassignedThumb = fyne.NewSize(120, 90)

func (u *unassignedWindow) thumb(it localapi.Item) fyne.CanvasObject {
	img := canvas.NewImageFromImage(image.NewNRGBA(image.Rect(0, 0, 4, 3)))
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(unassignedThumb)
	if t, ok := u.thumbs[it.ID]; ok {
		img.Image = t
	} else {
		go func() {
			b, err := u.app.agent.Thumbnail(context.Background(), it.ID)
			if err != nil {
				return
			}
			t, err := decodeThumb(b)
			if err != nil {
				return
			}
			u.app.opt.Do(func() {
				u.thumbs[it.ID] = t
				img.Image = t
				img.Refresh()
			})
		}()
	}
	return newTappableImage(img, func() { u.preview(it) })
}

// preview shows a file large; once it is on screen it counts as seen.
func (u *unassignedWindow) preview(it localapi.Item) {
	showPreview(u.app, u.win, it.ID, 0, it.FileName, func() { u.app.unassigned.Seen(it.ID) })
}

func (u *unassignedWindow) row(it localapi.Item, target *CaptureWindow) fyne.CanvasObject {
	check := widget.NewCheck("", func(on bool) {
		if !u.refreshing {
			u.app.unassigned.Select(it.ID, on)
		}
	})
	check.SetChecked(u.app.unassigned.IsSelected(it.ID))
	name := widget.NewLabelWithStyle(it.FileName, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.Truncation = fyne.TextTruncateEllipsis
	from := widget.NewLabel(viewmodel.ItemSource(it))
	from.SizeName = theme.SizeNameCaptionText
	reason := widget.NewLabel(it.Reason)
	reason.Wrapping = fyne.TextWrapWord
	assign := widget.NewButtonWithIcon("Assign to open patient", theme.ConfirmIcon(), func() { u.confirmAssign([]string{it.ID}) })
	assign.Importance = widget.HighImportance
	if target == nil {
		assign.Disable()
	}
	reject := widget.NewButtonWithIcon("Reject", theme.CancelIcon(), func() { u.confirmReject([]string{it.ID}) })
	text := container.NewVBox(name, from, reason)
	return container.NewVBox(
		container.NewBorder(nil, nil, container.NewHBox(check, u.thumb(it)), container.NewVBox(assign, reject), text),
		widget.NewSeparator())
}

func (u *unassignedWindow) item(id string) (localapi.Item, bool) {
	items, _ := u.app.unassigned.Items()
	for _, it := range items {
		if it.ID == id {
			return it, true
		}
	}
	return localapi.Item{}, false
}

// confirmAssign shows the patient band of the window the files will be filed under,
// beside the images themselves: the one moment where a wrong window or a wrong scan
// would file an image on the wrong patient. Assign is offered only once every image
// is on screen.
func (u *unassignedWindow) confirmAssign(ids []string) {
	target := u.app.patientWindow()
	if target == nil || len(ids) == 0 {
		u.refresh()
		return
	}
	s, _ := target.model.Session()
	band := newPatientBand()
	band.set(viewmodel.NewPatientBanner(s.Banner, u.app.opt.Now()))
	question := widget.NewLabelWithStyle(viewmodel.ConfirmQuestion(len(ids)), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	size := previewSize.Subtract(fyne.NewSize(0, 160))
	if len(ids) > 1 {
		size = fyne.NewSize(200, 150)
	}
	grid := container.NewGridWrap(fyne.NewSize(size.Width, size.Height+30))
	u.confirmShown = map[string]bool{}
	var ok *widget.Button
	for _, id := range ids {
		it, found := u.item(id)
		if !found {
			continue
		}
		img := canvas.NewImageFromImage(image.NewNRGBA(image.Rect(0, 0, 4, 3)))
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(size)
		label := widget.NewLabel(it.FileName)
		label.Truncation = fyne.TextTruncateEllipsis
		grid.Add(container.NewBorder(nil, label, nil, nil, img))
		go func() {
			b, err := u.app.agent.Preview(context.Background(), id)
			var pic image.Image
			if err == nil {
				pic, err = decodeThumb(b)
			}
			u.app.opt.Do(func() {
				if err != nil {
					label.SetText(it.FileName + ": " + previewError(err))
					return
				}
				img.Image = pic
				img.Refresh()
				u.app.unassigned.Seen(id)
				u.confirmShown[id] = true
				if len(u.confirmShown) == len(ids) && ok != nil {
					ok.Enable()
				}
			})
		}()
	}
	var d *dialog.CustomDialog
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	ok = widget.NewButtonWithIcon("Assign", theme.ConfirmIcon(), func() {
		d.Hide()
		go func() { _ = u.app.unassigned.AssignAll(context.Background(), ids, target.model) }()
	})
	ok.Importance = widget.HighImportance
	ok.Disable() // until every image is on screen
	content := container.NewBorder(container.NewVBox(band.box, question), nil, nil, nil, container.NewVScroll(grid))
	d = dialog.NewCustomWithoutButtons("Assign to this patient?", content, u.win)
	d.SetButtons([]fyne.CanvasObject{cancel, ok})
	d.Resize(fyne.NewSize(previewSize.Width, previewSize.Height+120))
	u.confirm, u.confirmOK, u.confirmBand = d, ok, band
	d.Show()
}

// confirmReject asks once for every selected file; rejected files are moved, never deleted.
func (u *unassignedWindow) confirmReject(ids []string) {
	if len(ids) == 0 {
		return
	}
	msg := "Move this file to the Rejected folder? It is not deleted."
	if len(ids) > 1 {
		msg = fmt.Sprintf("Move these %d files to the Rejected folder? They are not deleted.", len(ids))
	}
	d := dialog.NewConfirm("Reject?", msg, func(yes bool) {
		if yes {
			go func() { _ = u.app.unassigned.RejectAll(context.Background(), ids) }()
		}
	}, u.win)
	d.SetConfirmText("Reject")
	d.Show()
}
