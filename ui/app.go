package ui

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/doctor"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// Options are the tray's seams to the OS, replaced in tests.
type Options struct {
	// Do runs f where Fyne widgets may be touched (fyne.Do in production; tests run
	// a queue on the test goroutine so widgets are never touched concurrently).
	Do func(f func())
	// Camera opens the camera app (SystemCamera by default).
	Camera Camera
	// Notify shows a best-effort notification (the Fyne app's by default).
	Notify func(viewmodel.Notice)
	// DiagnosticsDir is where Copy diagnostics writes its zip (the user's Desktop,
	// where practice IT finds it, by default).
	DiagnosticsDir string
	// Log receives operational messages; never patient data (wrap it with redact).
	Log *slog.Logger
	// Now is the clock, for the offline notice and the patient band's age.
	Now func() time.Time
	// PickerDir is where Add files opens first (the user's Pictures folder by default);
	// later it opens where the GP last added from.
	PickerDir string
	// LocalDiagnostics writes the diagnostics zip from this PC's configuration and
	// logs when the agent does not answer (doctor.WriteLocalBundle over the default
	// paths and TrayLog by default).
	LocalDiagnostics func(w io.Writer, last localapi.Status, lastAt time.Time) error
	// Paths are the agent's configuration and data paths; TrayLog is this tray's log.
	Paths   config.Paths
	TrayLog string
}

// App is the running tray: its windows, the tray menu, and the event stream.
type App struct {
	fa    fyne.App
	agent localapi.Service
	opt   Options

	tray       *viewmodel.Tray
	unassigned *viewmodel.Unassigned
	attention  *viewmodel.Attention

	menu                                                 *fyne.Menu
	miOpen, miUnassigned, miAttention, miStatus, miPause *fyne.MenuItem

	mu        sync.Mutex
	captures  []*CaptureWindow
	unWin     *unassignedWindow
	atWin     *attentionWindow
	stWin     *statusWindow
	shownIcon viewmodel.Icon
	refresh   bool // a Status refresh is wanted after item events
	fetching  bool
	pickFrom  string // the folder Add files last added from
	// launchSeq counts launches; each capture window keeps the number of its latest,
	// so the window of the most recent launch is known.
	launchSeq int
}

func (a *App) pickDir() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pickFrom != "" {
		return a.pickFrom
	}
	return a.opt.PickerDir
}

func (a *App) setPickDir(dir string) {
	a.mu.Lock()
	a.pickFrom = dir
	a.mu.Unlock()
}

// New builds the tray app on a Fyne app and the agent's client.
func New(fa fyne.App, agent localapi.Service, opt Options) *App {
	if opt.Do == nil {
		opt.Do = fyne.Do
	}
	if opt.Camera == nil {
		opt.Camera = SystemCamera()
	}
	if opt.Notify == nil {
		opt.Notify = func(n viewmodel.Notice) { fa.SendNotification(fyne.NewNotification(n.Title, n.Body)) }
	}
	if opt.DiagnosticsDir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			opt.DiagnosticsDir = filepath.Join(home, "Desktop")
		} else {
			opt.DiagnosticsDir = os.TempDir()
		}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Paths == (config.Paths{}) {
		opt.Paths = config.DefaultPaths("")
	}
	if opt.LocalDiagnostics == nil {
		opt.LocalDiagnostics = func(w io.Writer, last localapi.Status, lastAt time.Time) error {
			var logs []string
			if opt.TrayLog != "" {
				logs = append(logs, opt.TrayLog)
			}
			return doctor.WriteLocalBundle(w, doctor.LocalInput{At: opt.Now(), Paths: opt.Paths, Logs: logs, Last: last.Health, LastAt: lastAt})
		}
	}
	if opt.PickerDir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			opt.PickerDir = home
			if fi, err := os.Stat(filepath.Join(home, "Pictures")); err == nil && fi.IsDir() {
				opt.PickerDir = filepath.Join(home, "Pictures")
			}
		}
	}
	a := &App{fa: fa, agent: agent, opt: opt, tray: viewmodel.NewTray()}
	a.unassigned = viewmodel.NewUnassigned(agent, func() { a.opt.Do(a.refreshUnassigned) })
	a.attention = viewmodel.NewAttention(agent, func() { a.opt.Do(a.refreshAttention) })
	fa.SetIcon(appIcon)
	a.miOpen = fyne.NewMenuItem(viewmodel.PlaceOpen, a.ShowMain)
	a.miUnassigned = fyne.NewMenuItem(viewmodel.PlaceUnassigned+" (0)", a.ShowUnassigned)
	a.miAttention = fyne.NewMenuItem(viewmodel.PlaceNeedsAttention+" (0)", a.ShowAttention)
	a.miStatus = fyne.NewMenuItem(viewmodel.PlaceStatus, a.ShowStatus)
	a.miPause = fyne.NewMenuItem(viewmodel.PlacePause, a.TogglePause)
	quit := fyne.NewMenuItem("Quit", a.Quit)
	quit.IsQuit = true
	a.menu = fyne.NewMenu(viewmodel.TitleMain, a.miOpen, a.miUnassigned, a.miAttention, a.miStatus, a.miPause, fyne.NewMenuItemSeparator(), quit)
	return a
}

// Start follows the agent's event stream until ctx ends, and shows the tray icon.
func (a *App) Start(ctx context.Context) {
	a.applyTray()
	go a.follow(ctx)
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.notify(a.tray.Tick(a.opt.Now()))
			}
		}
	}()
}

// TrayMenu is the tray's menu (exposed for tests: the test driver has no tray).
func (a *App) TrayMenu() *fyne.Menu { return a.menu }

// TrayIcon is the icon the tray currently shows, and its sentence.
func (a *App) TrayIcon() (viewmodel.Icon, string) {
	v := a.tray.View()
	return v.Icon, v.Sentence
}

// follow keeps the event stream open, reconnecting with backoff; while it is down the
// icon says the agent is not answering.
func (a *App) follow(ctx context.Context) {
	wait := 250 * time.Millisecond
	for ctx.Err() == nil {
		ch, err := a.agent.Events(ctx)
		if err == nil {
			a.fetchStatus(ctx)
			wait = 250 * time.Millisecond
			_ = a.unassigned.Refresh(ctx)
			_ = a.attention.Refresh(ctx)
			for e := range ch {
				a.handle(ctx, e)
			}
		}
		if ctx.Err() != nil {
			return
		}
		a.tray.Disconnected(a.opt.Now())
		a.tellOffline()
		a.opt.Do(func() {
			a.applyTray()
			a.mu.Lock()
			sw := a.stWin
			a.mu.Unlock()
			if sw != nil {
				sw.refresh() // its results are now marked as not up to date
			}
		})
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if wait < 5*time.Second {
			wait *= 2
		}
	}
}

func (a *App) handle(ctx context.Context, e localapi.Event) {
	switch e.Type {
	case localapi.EventStatus:
		if e.Status != nil {
			a.setStatus(*e.Status)
		}
	case localapi.EventItem:
		if e.Item == nil {
			return
		}
		it := *e.Item
		for _, c := range a.captureList() {
			c.model.HandleItem(it)
		}
		a.unassigned.HandleItem(it)
		a.attention.HandleItem(it)
		a.notify(a.tray.HandleItem(it, a.opt.Now()))
		// Counts changed; the agent may not send a status for every item.
		a.fetchStatusSoon(ctx)
	case localapi.EventPhone:
		if e.Phone != nil {
			ps := *e.Phone
			for _, c := range a.captureList() {
				c.phoneEvent(ps)
			}
		}
	case localapi.EventClose:
		// The installer is replacing the tray's exe (an upgrade): exit cleanly now; the
		// new tray starts at the next sign-in, from the Start menu or the next Medtech click.
		a.opt.Log.Info("closing: ClinicPro Images is being upgraded")
		a.opt.Do(a.Quit)
	case localapi.EventLaunch:
		// A launch through the agent's loopback web page: the agent resolved it and
		// told only this Windows session's tray its id; the patient comes over our
		// own connection, which the agent answers only for the user who clicked.
		if e.Session == nil || e.Session.ID == "" {
			return
		}
		s, err := a.agent.Session(ctx, e.Session.ID)
		if err != nil {
			a.opt.Log.Warn("a web launch could not be opened", "err", err)
			return
		}
		a.opt.Do(func() {
			c := a.newCapture()
			c.adopt(s)
			a.place(c)
		})
	}
}

func (a *App) setStatus(st localapi.Status) {
	a.notify(a.tray.SetStatus(st, a.opt.Now()))
	a.tellOffline()
	a.route()
	a.opt.Do(func() {
		a.applyTray()
		a.mu.Lock()
		sw := a.stWin
		a.mu.Unlock()
		if sw != nil {
			sw.refresh()
		}
	})
}

// tellOffline passes the tray's view of the connection to every capture window.
func (a *App) tellOffline() {
	off := a.tray.View().Icon == viewmodel.IconOffline
	for _, c := range a.captureList() {
		c.model.SetOffline(off)
	}
}

func (a *App) fetchStatus(ctx context.Context) {
	st, err := a.agent.Status(ctx)
	if err != nil {
		return
	}
	a.setStatus(st)
}

// fetchStatusSoon coalesces the status refreshes a burst of item events asks for.
func (a *App) fetchStatusSoon(ctx context.Context) {
	a.mu.Lock()
	a.refresh = true
	if a.fetching {
		a.mu.Unlock()
		return
	}
	a.fetching = true
	a.mu.Unlock()
	go func() {
		for {
			a.mu.Lock()
			if !a.refresh {
				a.fetching = false
				a.mu.Unlock()
				return
			}
			a.refresh = false
			a.mu.Unlock()
			a.fetchStatus(ctx)
		}
	}()
}

func (a *App) notify(ns []viewmodel.Notice) {
	for _, n := range ns {
		a.opt.Notify(n)
	}
}

// applyTray shows the icon and menu labels for the tray's state.
func (a *App) applyTray() {
	v := a.tray.View()
	a.miUnassigned.Label = v.Unassigned
	a.miAttention.Label = v.Attention
	a.miPause.Label = v.Pause
	a.miPause.Disabled = !v.Connected
	a.menu.Refresh()
	if d, ok := a.fa.(desktop.App); ok {
		d.SetSystemTrayMenu(a.menu)
		// Only on change: re-setting the same icon makes some Windows trays flicker.
		if v.Icon != a.shownIcon {
			d.SetSystemTrayIcon(trayIcons[v.Icon])
			a.shownIcon = v.Icon
		}
	}
}

// Launch opens a capture window for a toolbar launch URL and resolves it.
func (a *App) Launch(rawURL string) *CaptureWindow {
	// The URL is never logged: its context is Medtech's token for a patient.
	a.opt.Log.Info("launch received")
	c := a.newCapture()
	go func() {
		start := time.Now()
		if err := c.model.Launch(context.Background(), rawURL); err != nil {
			// Agent sentences carry no identifiers (localapi.APIError's contract).
			a.opt.Log.Warn("launch failed", "reason", viewmodel.Sentence(err))
			return
		}
		a.opt.Log.Info("launch resolved", "ms", time.Since(start).Milliseconds())
		a.opt.Do(func() { a.place(c) })
	}()
	return c
}

// place decides what a resolved launch's window does: one window per patient, so
// a launch of a patient whose window is open brings that window forward instead;
// a launch of another patient while a window holds unsaved images asks first.
func (a *App) place(c *CaptureWindow) {
	s, ok := c.model.Session()
	if !ok || c.closing {
		return
	}
	var others []*CaptureWindow
	var open []viewmodel.OpenWindow
	for _, o := range a.captureList() {
		if o != c {
			others = append(others, o)
			open = append(open, o.model.Window())
		}
	}
	routed := len(a.tray.View().Status.SessionFolders) > 0
	p := viewmodel.PlanLaunch(open, s, routed, a.opt.Now())
	switch {
	case p.Existing >= 0:
		ex := others[p.Existing]
		c.keepSession, c.discard = true, true // the session is ex's
		c.win.Close()
		ex.model.Adopt(s) // anything the session gained meanwhile
		a.launched(ex)
		ex.win.Show()
		ex.win.RequestFocus()
	case p.Ask >= 0:
		back := others[p.Ask]
		c.ask = dialog.NewCustomConfirm(viewmodel.TitleAnotherPatient, p.Open, p.Back, newWrappedLabel(p.Question), func(open bool) {
			c.ask = nil
			if open {
				a.launched(c)
				return
			}
			c.discard = true
			c.win.Close()
			back.win.Show()
			back.win.RequestFocus()
		}, c.win)
		c.ask.Resize(fyne.NewSize(560, 260))
		c.ask.Show()
	default:
		a.launched(c)
	}
}

// launched records that c's session was launched last, and tells every window
// where "session" folders' files now go.
func (a *App) launched(c *CaptureWindow) {
	a.mu.Lock()
	a.launchSeq++
	c.launchSeq = a.launchSeq
	a.mu.Unlock()
	a.route()
}

// route tells each capture window which "session" folders the agent watches and
// whether it is the window of the most recent launch.
func (a *App) route() {
	folders := a.tray.View().Status.SessionFolders
	cs := a.captureList()
	var newest *CaptureWindow
	a.mu.Lock()
	for _, c := range cs {
		if c.launchSeq > 0 && (newest == nil || c.launchSeq > newest.launchSeq) && c.model.HasPatient() {
			newest = c
		}
	}
	a.mu.Unlock()
	for _, c := range cs {
		c.model.SetRouting(folders, c == newest)
	}
}

// ShowMain brings the latest capture window forward, or opens one that asks for a
// launch from Medtech.
func (a *App) ShowMain() {
	if cs := a.captureList(); len(cs) > 0 {
		cs[len(cs)-1].win.Show()
		cs[len(cs)-1].win.RequestFocus()
		return
	}
	a.newCapture()
}

// Captures lists open capture windows, oldest first.
func (a *App) Captures() []*CaptureWindow { return a.captureList() }

func (a *App) captureList() []*CaptureWindow {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.captures)
}

func (a *App) newCapture() *CaptureWindow {
	c := newCaptureWindow(a)
	c.model.SetOffline(a.tray.View().Icon == viewmodel.IconOffline)
	a.mu.Lock()
	a.captures = append(a.captures, c)
	a.mu.Unlock()
	c.win.Show()
	return c
}

func (a *App) forget(c *CaptureWindow) {
	a.mu.Lock()
	a.captures = slices.DeleteFunc(a.captures, func(x *CaptureWindow) bool { return x == c })
	a.mu.Unlock()
	a.route()
	a.refreshUnassigned()
	a.refreshAttention()
}

// patientWindow is the capture window items are assigned to: the newest one that has
// a patient (the GP confirms its banner before anything is filed).
func (a *App) patientWindow() *CaptureWindow {
	cs := a.captureList()
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].model.HasPatient() {
			return cs[i]
		}
	}
	return nil
}

// TogglePause pauses or resumes uploads in the agent.
func (a *App) TogglePause() {
	paused := a.tray.View().Paused
	go func() {
		st, err := a.agent.Pause(context.Background(), !paused)
		if err != nil {
			a.opt.Log.Warn("pause failed", "err", viewmodel.Sentence(err))
			return
		}
		a.setStatus(st)
	}()
}

// Quit closes every capture window's session and leaves. Sessions are closed before
// the process ends so the agent returns watched-folder items to Unassigned at once
// rather than when the sessions expire.
func (a *App) Quit() {
	cs := a.captureList()
	for _, c := range cs {
		c.discard = true
		c.win.Close()
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		for _, c := range cs {
			_ = c.model.Close(ctx)
		}
		a.opt.Do(a.fa.Quit)
	}()
}

func (a *App) refreshAttention() {
	a.mu.Lock()
	w := a.atWin
	a.mu.Unlock()
	if w != nil {
		w.refresh()
	}
}

// AttentionWindow is the open Needs attention window, or nil.
func (a *App) AttentionWindow() fyne.Window {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.atWin == nil {
		return nil
	}
	return a.atWin.win
}

func (a *App) refreshUnassigned() {
	a.mu.Lock()
	w := a.unWin
	a.mu.Unlock()
	if w != nil {
		w.refresh()
	}
}
