// Package watch finds complete files in watched folders. fsnotify is only a hint that
// makes us look sooner; a periodic full scan is the truth, so a lost or overflowed
// notification, an SMB share that never sends any, or a folder that disappears and
// comes back cannot make a file be missed.
package watch

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
)

// File is a complete file in a watched folder.
type File struct {
	Folder  config.Folder
	Path    string // full path
	Rel     string // path below the folder's root, for routing by folder name
	Size    int64
	ModTime time.Time
}

// Handler takes a complete file (normally: copy it into the queue). While it returns
// an error the file is offered again after the stability window; once it returns nil
// the file is not offered again unless it changes or the watcher restarts.
type Handler func(ctx context.Context, f File) error

// Opener reports whether a file can be opened with no one else holding it. On
// Windows a scanner or sync client keeps its file locked while writing; elsewhere
// there is no such lock and the answer is always yes.
type Opener interface {
	CanOpenExclusive(path string) bool
}

// Clock is the watcher's time source; tests use a fake one.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Options configure a Watcher. Zero values take the configuration defaults.
type Options struct {
	Folders         []config.Folder
	StabilityWindow time.Duration
	// ScanInterval is the period of full scans of every folder.
	ScanInterval time.Duration
	// PollInterval is the period of full scans of poll-only folders (network
	// shares); they get no notifications. Defaults to 5 s.
	PollInterval time.Duration
	Handle       Handler
	Opener       Opener // platform default when nil
	Clock        Clock  // real time when nil
	Log          *slog.Logger
}

// Watcher watches folders. Create it with New and start it with Run.
type Watcher struct {
	opt    Options
	clock  Clock
	opener Opener
	log    *slog.Logger

	mu      sync.Mutex
	folders []*folderState
	files   map[string]*entry // by full path

	rescan chan struct{}
}

type folderState struct {
	cfg    config.Folder
	root   string
	ok     bool
	since  time.Time
	detail string
}

type entry struct {
	folder  int
	size    int64
	mod     time.Time
	since   time.Time // when this size and mtime were first seen
	done    bool      // handed over successfully
	retryAt time.Time // after a handler error
	// failed is the last handler error logged for this file, so a file that keeps
	// failing is logged once per new reason rather than at every retry.
	failed string
}

// New creates a Watcher.
func New(opt Options) *Watcher {
	if opt.StabilityWindow <= 0 {
		opt.StabilityWindow = config.DefaultStabilityWindow
	}
	if opt.ScanInterval <= 0 {
		opt.ScanInterval = config.DefaultScanInterval
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 5 * time.Second
	}
	w := &Watcher{opt: opt, clock: opt.Clock, opener: opt.Opener, log: opt.Log,
		files: map[string]*entry{}, rescan: make(chan struct{}, 1)}
	if w.clock == nil {
		w.clock = realClock{}
	}
	if w.opener == nil {
		w.opener = platformOpener{}
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for _, f := range opt.Folders {
		w.folders = append(w.folders, &folderState{cfg: f, root: filepath.Clean(f.Path)})
	}
	return w
}

// Rescan asks for a full scan of every folder soon, e.g. after a person fixed a
// share or changed a file's name.
func (w *Watcher) Rescan() {
	select {
	case w.rescan <- struct{}{}:
	default:
	}
}

// Health returns one check per folder: OK while it can be read, Degraded while it is
// missing or unreadable (it is retried at every scan).
func (w *Watcher) Health() []health.Check {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]health.Check, 0, len(w.folders))
	for _, f := range w.folders {
		c := health.Check{Name: "watch." + f.cfg.Label, Title: "Watched folder " + f.cfg.Label, Since: f.since}
		switch {
		case f.since.IsZero():
			c.State, c.Detail = health.Unknown, "The folder has not been scanned yet."
		case f.ok:
			c.State, c.Detail = health.OK, "The folder is being watched."
		default:
			c.State, c.Detail = health.Degraded, f.detail
			c.Fix = "Check that the drive or network share is connected and that the ClinicPro service may read it; it is retried automatically."
		}
		out = append(out, c)
	}
	return out
}

// Run watches until ctx ends. It returns nil then; folder errors never stop it.
func (w *Watcher) Run(ctx context.Context) error {
	nw, err := fsnotify.NewWatcher()
	if err != nil {
		// Without notifications we still find every file by scanning.
		w.log.Warn("file notifications unavailable, scanning only", "err", err)
		nw = nil
	}
	var events chan fsnotify.Event
	var errs chan error
	if nw != nil {
		defer nw.Close()
		events, errs = nw.Events, nw.Errors
	}
	w.scanAll(nw)

	full := time.NewTicker(w.opt.ScanInterval)
	defer full.Stop()
	var poll <-chan time.Time
	if w.hasPollOnly() {
		t := time.NewTicker(w.opt.PollInterval)
		defer t.Stop()
		poll = t.C
	}
	// The pending timer runs only while some file is waiting to become stable, so an
	// idle watcher wakes only for full scans.
	pending := time.NewTimer(time.Hour)
	pending.Stop()
	defer pending.Stop()
	arm := func() {
		if w.hasPending() {
			pending.Reset(w.tick())
		}
	}
	arm()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-full.C:
			w.scanAll(nw)
		case <-poll:
			w.scanPollOnly()
		case <-w.rescan:
			w.scanAll(nw)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			w.notice(nw, ev)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// Overflow or any other watcher error: trust nothing, look at everything.
			w.log.Warn("file notifications lost, rescanning", "err", err)
			w.scanAll(nw)
		case <-pending.C:
		}
		w.checkPending(ctx)
		arm()
	}
}

// tick is how often waiting files are looked at: often enough that a file is taken
// within a quarter window of becoming stable.
func (w *Watcher) tick() time.Duration {
	t := w.opt.StabilityWindow / 4
	if t < 25*time.Millisecond {
		t = 25 * time.Millisecond
	}
	return t
}

func (w *Watcher) hasPollOnly() bool {
	for _, f := range w.folders {
		if f.cfg.PollOnly {
			return true
		}
	}
	return false
}

func (w *Watcher) hasPending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.files {
		if !e.done {
			return true
		}
	}
	return false
}

func (w *Watcher) scanAll(nw *fsnotify.Watcher) {
	for i := range w.folders {
		w.scanFolder(i, nw)
	}
}

func (w *Watcher) scanPollOnly() {
	for i, f := range w.folders {
		if f.cfg.PollOnly {
			w.scanFolder(i, nil)
		}
	}
}

// scanFolder walks one folder, recording every candidate file and (unless the folder
// is poll-only) making sure each directory has a notification watch.
func (w *Watcher) scanFolder(i int, nw *fsnotify.Watcher) {
	f := w.folders[i]
	now := w.clock.Now()
	seen := map[string]bool{}
	var walkErr error
	rootInfo, err := os.Stat(f.root)
	if err == nil && !rootInfo.IsDir() {
		err = errors.New("it is a file, not a folder")
	}
	// Ask fsnotify what it really watches: a directory deleted and made again under
	// the same name has lost its watch even though the path looks the same.
	var have map[string]bool
	if nw != nil && !f.cfg.PollOnly {
		have = map[string]bool{}
		for _, p := range nw.WatchList() {
			have[p] = true
		}
	}
	if err == nil {
		walkErr = filepath.WalkDir(f.root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == f.root {
					return err
				}
				return nil // an unreadable subfolder is skipped, the rest still works
			}
			if d.IsDir() {
				if p != f.root && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				if have != nil && !have[p] {
					nw.Add(p) // on failure (watch limit) scans still find the files
				}
				return nil
			}
			if !d.Type().IsRegular() || skipFile(d.Name()) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			seen[p] = true
			w.observe(i, p, info.Size(), info.ModTime(), now)
			return nil
		})
		err = walkErr
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ok := err == nil
	if ok != f.ok || f.since.IsZero() {
		f.since = now
	}
	f.ok = ok
	if !ok {
		f.detail = "The folder " + f.cfg.Label + " cannot be read: " + describe(err)
		return // keep what we knew: a briefly unmounted share must not restart stability
	}
	for p, e := range w.files {
		if e.folder == i && !seen[p] {
			delete(w.files, p)
		}
	}
}

// notice handles one notification: a file is looked at directly, a new directory is
// scanned (it may have arrived whole, with files already in it).
func (w *Watcher) notice(nw *fsnotify.Watcher, ev fsnotify.Event) {
	i := w.folderOf(ev.Name)
	if i < 0 {
		return
	}
	info, err := os.Lstat(ev.Name)
	if err != nil {
		w.mu.Lock()
		delete(w.files, ev.Name)
		w.mu.Unlock()
		return
	}
	if info.IsDir() {
		if !skipPath(w.folders[i].root, ev.Name) {
			w.scanFolder(i, nw)
		}
		return
	}
	if !info.Mode().IsRegular() || skipFile(info.Name()) || skipPath(w.folders[i].root, filepath.Dir(ev.Name)) {
		return
	}
	w.observe(i, ev.Name, info.Size(), info.ModTime(), w.clock.Now())
}

func (w *Watcher) folderOf(p string) int {
	best, bestLen := -1, -1
	for i, f := range w.folders {
		if (p == f.root || strings.HasPrefix(p, f.root+string(filepath.Separator))) && len(f.root) > bestLen {
			best, bestLen = i, len(f.root)
		}
	}
	return best
}

func (w *Watcher) observe(folder int, p string, size int64, mod, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.files[p]
	if !ok {
		w.files[p] = &entry{folder: folder, size: size, mod: mod, since: now}
		return
	}
	if e.size != size || !e.mod.Equal(mod) {
		e.size, e.mod, e.since, e.done, e.retryAt = size, mod, now, false, time.Time{}
	}
}

// checkPending re-examines waiting files and hands over those that have been stable
// for the whole window.
func (w *Watcher) checkPending(ctx context.Context) {
	now := w.clock.Now()
	type cand struct {
		path string
		e    entry
	}
	var due []cand
	w.mu.Lock()
	for p, e := range w.files {
		if !e.done && now.Sub(e.since) >= w.opt.StabilityWindow && !now.Before(e.retryAt) {
			due = append(due, cand{p, *e})
		}
	}
	w.mu.Unlock()
	for _, c := range due {
		if ctx.Err() != nil {
			return
		}
		// Look once more: the window must have passed with this exact size and time.
		info, err := os.Stat(c.path)
		if err != nil {
			w.mu.Lock()
			delete(w.files, c.path)
			w.mu.Unlock()
			continue
		}
		if info.Size() != c.e.size || !info.ModTime().Equal(c.e.mod) {
			w.observe(c.e.folder, c.path, info.Size(), info.ModTime(), now)
			continue
		}
		if !w.opener.CanOpenExclusive(c.path) {
			continue // still held by its writer; look again next tick
		}
		f := w.folders[c.e.folder]
		rel, _ := filepath.Rel(f.root, c.path)
		file := File{Folder: f.cfg, Path: c.path, Rel: rel, Size: c.e.size, ModTime: c.e.mod}
		err = nil
		if w.opt.Handle != nil {
			err = w.opt.Handle(ctx, file)
		}
		warn, recovered := err != nil, false
		w.mu.Lock()
		if e, ok := w.files[c.path]; ok && e.size == c.e.size && e.mod.Equal(c.e.mod) {
			if err != nil {
				e.retryAt = now.Add(w.opt.StabilityWindow)
				warn = e.failed != err.Error()
				e.failed = err.Error()
			} else {
				e.done = true
				recovered = e.failed != ""
			}
		}
		w.mu.Unlock()
		switch {
		case warn:
			w.log.Warn("could not take a file, will retry", "folder", f.cfg.Label, "err", err)
		case recovered:
			w.log.Info("took a file that had failed before", "folder", f.cfg.Label)
		}
	}
}

// skipDir: Sent and Rejected hold files we have finished with; hidden folders belong
// to sync clients.
func skipDir(name string) bool {
	l := strings.ToLower(name)
	return l == "sent" || l == "rejected" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") || l == "$recycle.bin"
}

// skipPath reports whether dir (inside root) is in a skipped folder.
func skipPath(root, dir string) bool {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." {
		return false
	}
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if skipDir(part) {
			return true
		}
	}
	return false
}

// skipFile matches files that are still being written or are not documents: Office
// lock files (~$x), editors' and browsers' partial downloads, dot files, and the
// thumbnail caches Windows drops into picture folders.
func skipFile(name string) bool {
	l := strings.ToLower(name)
	if strings.HasPrefix(name, "~") || strings.HasPrefix(name, ".") {
		return true
	}
	for _, suf := range []string{".tmp", ".part", ".partial", ".crdownload", ".download", ".!sync"} {
		if strings.HasSuffix(l, suf) {
			return true
		}
	}
	return l == "thumbs.db" || l == "desktop.ini"
}

// describe says what went wrong without the path (paths can hold NHIs).
func describe(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "it does not exist (a disconnected drive or share?)."
	case errors.Is(err, fs.ErrPermission):
		return "access is denied."
	}
	return err.Error() + "."
}
