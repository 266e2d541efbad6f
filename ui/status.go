package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// statusWindow is for practice IT: the health model, relay and facility, diagnostics.
type statusWindow struct {
	app      *App
	win      fyne.Window
	sentence *widget.Label
	facts    *widget.Form
	checks   *fyne.Container
	copied   *widget.Label
	copyBtn  *widget.Button
}

// ShowStatus opens (or brings forward) the Status window.
func (a *App) ShowStatus() {
	a.mu.Lock()
	w := a.stWin
	a.mu.Unlock()
	if w == nil {
		w = newStatusWindow(a)
		a.mu.Lock()
		a.stWin = w
		a.mu.Unlock()
	}
	w.refresh()
	w.win.Show()
	w.win.RequestFocus()
}

// StatusWindow is the open Status window, or nil.
func (a *App) StatusWindow() fyne.Window {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stWin == nil {
		return nil
	}
	return a.stWin.win
}

func newStatusWindow(a *App) *statusWindow {
	s := &statusWindow{app: a, win: a.fa.NewWindow(viewmodel.TitleMain + " - Status")}
	s.win.SetIcon(appIcon)
	s.sentence = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.sentence.Wrapping = fyne.TextWrapWord
	s.facts = widget.NewForm()
	s.checks = container.NewVBox()
	s.copied = widget.NewLabel("")
	s.copied.Wrapping = fyne.TextWrapWord
	s.copied.Hide() // until Copy diagnostics has something to say
	s.copyBtn = widget.NewButtonWithIcon("Copy diagnostics", theme.ContentCopyIcon(), s.copyDiagnostics)
	// Checks with their fixes first: they are what practice IT opens this window for.
	body := container.NewVBox(s.sentence, s.checks, widget.NewSeparator(), s.facts)
	bottom := container.NewVBox(widget.NewSeparator(), s.copied, container.NewHBox(layout.NewSpacer(), s.copyBtn))
	s.win.SetContent(container.NewBorder(nil, bottom, nil, nil, container.NewVScroll(body)))
	s.win.Resize(fyne.NewSize(640, 560))
	s.win.SetOnClosed(func() {
		a.mu.Lock()
		a.stWin = nil
		a.mu.Unlock()
	})
	s.win.Canvas().SetOnTypedKey(func(k *fyne.KeyEvent) {
		if k.Name == fyne.KeyEscape {
			s.win.Close()
		}
	})
	return s
}

func (s *statusWindow) refresh() {
	v := s.app.tray.View()
	st := v.Status
	s.sentence.SetText(v.Sentence)
	s.sentence.Importance = widget.MediumImportance
	switch v.Icon {
	case viewmodel.IconOffline:
		s.sentence.Importance = widget.DangerImportance
	case viewmodel.IconAttention:
		s.sentence.Importance = widget.WarningImportance
	case viewmodel.IconOK:
		s.sentence.Importance = widget.SuccessImportance
	}
	s.sentence.Refresh()
	c := st.Counts
	last := "never"
	if !st.LastUpload.IsZero() {
		last = st.LastUpload.Local().Format("2 Jan 2006 15:04")
	}
	s.facts.Items = nil
	for _, f := range [][2]string{
		{"Relay", orDash(st.Relay)},
		{"Facility", orDash(st.Facility)},
		{"Agent", orDash(st.Version)},
		{"Queue", fmt.Sprintf("%d waiting, %d uploading, %d not saved, %d unassigned, %d sent today", c.Queued, c.Uploading, c.Parked, c.Unassigned, c.SentToday)},
		{"Last upload", last},
	} {
		s.facts.Append(f[0], widget.NewLabel(f[1]))
	}
	s.facts.Refresh()
	rows := make([]fyne.CanvasObject, 0, len(st.Health.Checks))
	for _, ch := range st.Health.Checks {
		rows = append(rows, checkRow(ch))
	}
	s.checks.Objects = rows
	s.checks.Refresh()
	setEnabled(s.copyBtn, v.Connected)
	// Wrapped labels change height with their text: lay the window out again.
	s.win.Content().Refresh()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func checkRow(ch health.Check) fyne.CanvasObject {
	icon := widget.NewIcon(theme.ConfirmIcon())
	switch ch.State {
	case health.Offline:
		icon.SetResource(theme.NewErrorThemedResource(theme.ErrorIcon()))
	case health.Degraded:
		icon.SetResource(theme.NewWarningThemedResource(theme.WarningIcon()))
	case health.Unknown:
		icon.SetResource(theme.QuestionIcon())
	default:
		icon.SetResource(theme.NewSuccessThemedResource(theme.ConfirmIcon()))
	}
	title := widget.NewLabelWithStyle(ch.Title+": "+viewmodel.StateLabel(ch.State), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	detail := widget.NewLabel(ch.Detail)
	detail.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(title, detail)
	if ch.Fix != "" && ch.State != health.OK {
		fix := widget.NewLabel("Fix: " + ch.Fix)
		fix.Wrapping = fyne.TextWrapWord
		fix.Importance = widget.WarningImportance
		body.Add(fix)
	}
	return container.NewBorder(nil, nil, container.NewVBox(icon), nil, body)
}

// copyDiagnostics writes the agent's bundle to a zip practice IT can attach, and puts
// a readable summary on the clipboard for the body of the email.
func (s *statusWindow) copyDiagnostics() {
	s.copyBtn.Disable()
	s.copied.SetText("Collecting diagnostics…")
	s.copied.Show()
	go func() {
		now := s.app.opt.Now()
		path := filepath.Join(s.app.opt.DiagnosticsDir, "ClinicPro diagnostics "+now.Format("2006-01-02 150405")+".zip")
		err := s.writeBundle(path)
		st, stErr := s.app.agent.Status(context.Background())
		if stErr != nil {
			st = s.app.tray.View().Status
		}
		s.app.opt.Do(func() {
			s.copyBtn.Enable()
			if err != nil {
				s.copied.SetText("The diagnostics file could not be written to " + s.app.opt.DiagnosticsDir + ": the summary is on the clipboard; check the folder exists and try again.")
				path = ""
			} else {
				s.copied.SetText("Saved " + path + " and copied a summary to the clipboard: paste it into your email to support and attach the file.")
			}
			s.app.fa.Clipboard().SetContent(viewmodel.DiagnosticsSummary(st, path, now))
			s.win.Content().Refresh()
		})
	}()
}

func (s *statusWindow) writeBundle(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.app.agent.DiagnosticsBundle(ctx, f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
