package ui

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// statusWindow is for practice IT: the verdict, the queue and the last upload at
// the top, each check with since when, Re-check now, and Copy diagnostics, which
// works whether or not the agent answers.
type statusWindow struct {
	app      *App
	win      fyne.Window
	sentence *widget.Label
	state    *widget.Label
	summary  *widget.Form
	stale    *widget.Label
	facts    *widget.Form
	checks   *fyne.Container
	copied   *widget.Label
	recheck  *widget.Button
	copyBtn  *widget.Button
	note     *widget.Label
	lastView viewmodel.StatusView
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
	s.sentence.SizeName = theme.SizeNameSubHeadingText
	s.state = widget.NewLabel("")
	s.summary = widget.NewForm()
	s.stale = widget.NewLabel("")
	s.stale.Wrapping = fyne.TextWrapWord
	s.stale.Importance = widget.WarningImportance
	s.stale.Hide()
	s.facts = widget.NewForm()
	s.checks = container.NewVBox()
	s.copied = widget.NewLabel("")
	s.copied.Wrapping = fyne.TextWrapWord
	s.copied.Hide() // until Copy diagnostics has something to say
	s.note = widget.NewLabel("")
	s.note.Hide()
	s.recheck = widget.NewButtonWithIcon(viewmodel.LabelRecheck, theme.ViewRefreshIcon(), s.doRecheck)
	s.copyBtn = widget.NewButtonWithIcon("Copy diagnostics", theme.ContentCopyIcon(), s.copyDiagnostics)
	// The verdict and what it means for the queue first: what practice IT opens this
	// window for; then each check with its fix; then the facts support asks for.
	top := container.NewVBox(s.sentence, s.state, s.summary, s.stale, widget.NewSeparator())
	body := container.NewVBox(s.checks, widget.NewSeparator(), s.facts)
	bottom := container.NewVBox(widget.NewSeparator(), s.copied, container.NewHBox(s.note, layout.NewSpacer(), s.recheck, s.copyBtn))
	s.win.SetContent(container.NewBorder(top, bottom, nil, nil, container.NewVScroll(body)))
	s.win.Resize(fyne.NewSize(680, 620))
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
	v := s.app.tray.StatusView(s.app.opt.Now())
	s.lastView = v
	s.sentence.SetText(v.Verdict)
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
	s.state.SetText("Overall: " + v.State)
	s.summary.Items = nil
	s.summary.Append("Queue", widget.NewLabel(v.Queue))
	s.summary.Append("Last upload", widget.NewLabel(v.LastUpload))
	s.summary.Refresh()
	s.stale.SetText(v.Stale)
	if v.Stale == "" {
		s.stale.Hide()
	} else {
		s.stale.Show()
	}
	s.facts.Items = nil
	for _, f := range v.Facts {
		s.facts.Append(f[0], widget.NewLabel(f[1]))
	}
	s.facts.Refresh()
	rows := make([]fyne.CanvasObject, 0, len(v.Checks))
	for _, ch := range v.Checks {
		rows = append(rows, checkRow(ch, v.Stale != ""))
	}
	s.checks.Objects = rows
	s.checks.Refresh()
	setEnabled(s.recheck, v.CanRecheck)
	s.note.SetText(v.RecheckNote)
	if v.RecheckNote == "" {
		s.note.Hide()
	} else {
		s.note.Show()
	}
	s.note.Importance = widget.MediumImportance
	if !v.Rechecking {
		s.note.Importance = widget.DangerImportance
	}
	// Copy diagnostics works without the agent: the bundle is then made here.
	s.copyBtn.Enable()
	// Wrapped labels change height with their text: lay the window out again.
	s.win.Content().Refresh()
}

func checkRow(ch viewmodel.CheckRow, stale bool) fyne.CanvasObject {
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
	if stale {
		icon.SetResource(theme.QuestionIcon())
	}
	title := widget.NewLabelWithStyle(ch.Title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	head := container.NewHBox(title)
	if ch.Since != "" {
		since := widget.NewLabel(ch.Since)
		since.Importance = widget.LowImportance
		head.Add(since)
	}
	detail := widget.NewLabel(ch.Detail)
	detail.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(head, detail)
	if ch.Fix != "" {
		fix := widget.NewLabel("Fix: " + ch.Fix)
		fix.Wrapping = fyne.TextWrapWord
		fix.Importance = widget.WarningImportance
		body.Add(fix)
	}
	return container.NewBorder(nil, nil, container.NewVBox(icon), nil, body)
}

// doRecheck asks the agent to run its checks now (Re-check now).
func (s *statusWindow) doRecheck() {
	go func() {
		_ = s.app.tray.Recheck(context.Background(), s.app.agent, s.app.opt.Now)
		s.app.opt.Do(func() {
			s.app.applyTray()
			s.refresh()
		})
	}()
	s.refresh() // shows "Checking again…" at once
}

// copyDiagnostics writes the agent's bundle (or, when the agent does not answer,
// one made here from this PC's configuration and logs) to a zip practice IT can
// attach, and puts a readable summary on the clipboard for the body of the email.
func (s *statusWindow) copyDiagnostics() {
	s.copyBtn.Disable()
	s.copied.SetText("Collecting diagnostics…")
	s.copied.Show()
	go func() {
		now := s.app.opt.Now()
		path := filepath.Join(s.app.opt.DiagnosticsDir, "ClinicPro diagnostics "+now.Format("2006-01-02 150405")+".zip")
		st, stErr := s.app.agent.Status(context.Background())
		local := stErr != nil
		if local {
			st = s.app.tray.View().Status
		}
		err := s.writeBundle(path, local, st)
		s.app.opt.Do(func() {
			s.copyBtn.Enable()
			switch {
			case err != nil:
				s.copied.SetText("The diagnostics file could not be written to " + s.app.opt.DiagnosticsDir + ": the summary is on the clipboard; check the folder exists and try again.")
				path = ""
			case local:
				s.copied.SetText("The agent is not answering, so the diagnostics were made on this PC from its configuration and logs. Saved " + path + " and copied a summary to the clipboard: paste it into your email to support and attach the file.")
			default:
				s.copied.SetText("Saved " + path + " and copied a summary to the clipboard: paste it into your email to support and attach the file.")
			}
			summary := viewmodel.DiagnosticsSummary(st, path, now)
			if v := s.app.tray.StatusView(now); v.Stale != "" {
				summary = v.Stale + "\n" + summary
			}
			s.app.fa.Clipboard().SetContent(summary)
			s.win.Content().Refresh()
		})
	}()
}

func (s *statusWindow) writeBundle(path string, local bool, last localapi.Status) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if local {
		err = s.app.opt.LocalDiagnostics(f, last, s.app.tray.StatusAt())
	} else {
		err = s.app.agent.DiagnosticsBundle(ctx, f)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
