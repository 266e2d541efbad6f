package ui

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
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
	// confirm is the open assignment confirmation, if any.
	confirm *dialog.ConfirmDialog
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
	u := &unassignedWindow{app: a, win: a.fa.NewWindow(viewmodel.TitleMain + " - Unassigned")}
	u.win.SetIcon(appIcon)
	u.hint = widget.NewLabel("")
	u.hint.Wrapping = fyne.TextWrapWord
	u.errLbl = widget.NewLabel("")
	u.errLbl.Wrapping = fyne.TextWrapWord
	u.errLbl.Importance = widget.DangerImportance
	u.list = container.NewVBox()
	u.win.SetContent(container.NewBorder(container.NewVBox(u.hint, u.errLbl), nil, nil, nil, container.NewVScroll(u.list)))
	u.win.Resize(fyne.NewSize(640, 420))
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
	items, errText := u.app.unassigned.Items()
	target := u.app.patientWindow()
	switch {
	case len(items) == 0:
		u.hint.SetText("Nothing is waiting: every file from the watched folders has a patient.")
	case target == nil:
		u.hint.SetText("These files have no NHI in their name or folder. To assign them, open the patient in Medtech and click the ClinicPro icon.")
	default:
		u.hint.SetText("These files have no NHI in their name or folder. Assign each to the patient open in ClinicPro, or reject it (it is moved to the Rejected folder, not deleted).")
	}
	u.errLbl.SetText(errText)
	if errText == "" {
		u.errLbl.Hide()
	} else {
		u.errLbl.Show()
	}
	rows := make([]fyne.CanvasObject, 0, len(items))
	for _, it := range items {
		rows = append(rows, u.row(it, target))
	}
	u.list.Objects = rows
	u.list.Refresh()
}

func (u *unassignedWindow) row(it localapi.Item, target *CaptureWindow) fyne.CanvasObject {
	name := widget.NewLabelWithStyle(it.FileName, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.Truncation = fyne.TextTruncateEllipsis
	from := widget.NewLabel("From " + it.Source)
	from.SizeName = theme.SizeNameCaptionText
	reason := widget.NewLabel(it.Reason)
	reason.Wrapping = fyne.TextWrapWord
	assign := widget.NewButtonWithIcon("Assign to open patient", theme.ConfirmIcon(), func() { u.confirmAssign(it) })
	assign.Importance = widget.HighImportance
	if target == nil {
		assign.Disable()
	}
	reject := widget.NewButtonWithIcon("Reject", theme.CancelIcon(), func() {
		go func() { _ = u.app.unassigned.Reject(context.Background(), it.ID) }()
	})
	return container.NewVBox(
		container.NewBorder(nil, nil, nil, container.NewHBox(assign, reject), container.NewVBox(name, from)),
		reason, widget.NewSeparator())
}

// confirmAssign shows the banner of the patient the file will be filed under: the
// one moment where a wrong window would file an image on the wrong patient.
func (u *unassignedWindow) confirmAssign(it localapi.Item) {
	target := u.app.patientWindow()
	if target == nil {
		u.refresh()
		return
	}
	s, _ := target.model.Session()
	d := dialog.NewConfirm("Assign to this patient?", viewmodel.ConfirmText(s.Banner, it.FileName, u.app.opt.Now()), func(ok bool) {
		if !ok {
			return
		}
		go func() { _ = u.app.unassigned.Assign(context.Background(), it.ID, target.model) }()
	}, u.win)
	u.confirm = d
	d.SetConfirmText("Assign")
	d.SetDismissText("Cancel")
	d.Show()
}
