// Package watch finds complete files in watched folders. fsnotify is only a hint that
// makes us look sooner; a periodic full scan is the truth, so a lost or overflowed
// notification, an SMB share that never sends any, or a folder that disappears and
// comes back cannot make a file be missed.
//
// The loop that decides what to look at never touches the file system itself: each
// folder is scanned by its own goroutine and each file is taken by its own job, so a
// hung share, a FIFO or a file that never finishes reading holds up only itself.
// Files are opened through internal/originals, which follows no link and checks
// that the handle is the file that was observed stable.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/originals"
	"github.com/clinicpro/medtech-images/internal/redact"
)

// File is a complete file in a watched folder.
type File struct {
	Folder  config.Folder
	Path    string // full path
	Rel     string // path below the folder's root, for routing by folder name
	Size    int64
	ModTime time.Time
	// Body reads the file through the handle that was checked: no link followed,
	// the very file that was observed stable, inside the folder. Valid only during
	// the Handler call; nothing should open Path again.
	Body io.Reader
}

// Handler takes a complete file (normally: copy it into the queue). While it returns
// an error the file is offered again after the stability window; once it returns nil
// the file is not offered again unless it changes or the watcher restarts.
type Handler func(ctx context.Context, f File) error

// Opener opens a file that has been stable for the window, refusing anything but the
// regular file with identity want; originals.Root.Open in production. On Windows
// it fails with originals.ErrBusy while a writer (a scanner, a sync client) still
// holds the file.
type Opener func(root originals.Root, rel string, want originals.ID) (*originals.File, error)

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
	Open         Opener // originals.Root.Open when nil
	Clock        Clock  // real time when nil
	Log          *slog.Logger
	// Workers is how many files are taken at once; 2 when zero.
	Workers int
	// StuckAfter is how long taking one file may run before it is reported stuck
	// and stops counting against Workers; 2 min when zero.
	StuckAfter time.Duration
}

// maxNamed is how many problem items a folder's health names.
const maxNamed = 8

// maxStuck bounds the jobs left behind on files that never finish reading; past it
// no new job starts until one ends.
const maxStuck = 16

// Watcher watches folders. Create it with New and start it with Run.
type Watcher struct {
	opt   Options
	clock Clock
	open  Opener
	log   *slog.Logger
	slots chan struct{}

	mu      sync.Mutex
	folders []*folderState
	files   map[string]*entry // by full path
	jobs    map[string]*job   // files being taken, by full path

	running sync.WaitGroup // jobs, for tests
	rescan  chan struct{}
	// noticed wakes the loop when a folder's goroutine has recorded a new or changed
	// file, so the loop's pending timer is armed for it.
	noticed chan struct{}
	// beforeOpen, when set, runs between the last look at a file and its open:
	// tests swap the file there.
	beforeOpen func(path string)
}

type folderState struct {
	cfg    config.Folder
	root   originals.Root
	ok     bool
	since  time.Time
	detail string
	wake   chan string // "" asks for a full scan, a path for a look at one entry
}

type entry struct {
	folder  int
	info    originals.Info
	since   time.Time // when this size, time and kind were first seen
	done    bool      // handed over successfully, or refused
	retryAt time.Time // after a handler error
	// failed is the last handler error logged for this file, so a file that keeps
	// failing is logged once per new reason rather than at every retry.
	failed string
	// refused says why the file will not be taken (a link, a FIFO...), until it
	// changes; shown in the folder's health.
	refused string
	busy    bool // a job is taking it
}

type job struct {
	start   time.Time
	stuck   bool
	release sync.Once
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
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	if opt.StuckAfter <= 0 {
		opt.StuckAfter = 2 * time.Minute
	}
	w := &Watcher{opt: opt, clock: opt.Clock, open: opt.Open, log: opt.Log, slots: make(chan struct{}, opt.Workers),
		files: map[string]*entry{}, jobs: map[string]*job{}, rescan: make(chan struct{}, 1), noticed: make(chan struct{}, 1)}
	if w.clock == nil {
		w.clock = realClock{}
	}
	if w.open == nil {
		w.open = func(r originals.Root, rel string, want originals.ID) (*originals.File, error) {
			return r.Open(rel, want)
		}
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for _, f := range opt.Folders {
		w.folders = append(w.folders, &folderState{cfg: f, root: originals.NewRoot(f.Path), wake: make(chan string, 64)})
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

// Health returns one check per folder: OK while it can be read and every file in it
// can be taken; Degraded while it is missing or unreadable (retried at every scan),
// or while files in it are refused or stuck, each named with the reason.
func (w *Watcher) Health() []health.Check {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clock.Now()
	problems := map[int][]string{}
	var paths []string
	for p := range w.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := w.files[p]
		if e.refused != "" {
			problems[e.folder] = append(problems[e.folder], w.name(e.folder, p)+": "+e.refused)
		}
		if j := w.jobs[p]; j != nil && j.stuck {
			problems[e.folder] = append(problems[e.folder], fmt.Sprintf("%s has been being read for %v: the drive or share it is on may have stopped answering.",
				w.name(e.folder, p), now.Sub(j.start).Round(time.Second)))
		}
	}
	out := make([]health.Check, 0, len(w.folders))
	for i, f := range w.folders {
		c := health.Check{Name: health.FolderCheckName(f.cfg.Label), Title: "Watched folder " + f.cfg.Label, Since: f.since}
		switch {
		case f.since.IsZero():
			c.State, c.Detail = health.Unknown, "The folder has not been scanned yet."
		case !f.ok:
			c.State, c.Detail = health.Degraded, f.detail
			c.Fix = "Check that the drive or network share is connected and that the ClinicPro service may read it; it is retried automatically."
		case len(problems[i]) > 0:
			ps := problems[i]
			more := ""
			if len(ps) > maxNamed {
				more = fmt.Sprintf(" (and %d more)", len(ps)-maxNamed)
				ps = ps[:maxNamed]
			}
			c.State = health.Degraded
			c.Detail = fmt.Sprintf("%d item(s) in the folder cannot be taken%s. %s", len(problems[i]), more, strings.Join(ps, " "))
			c.Fix = "Move the named items out of the watched folder (or do what each says); everything else in the folder is still being taken."
		default:
			c.State, c.Detail = health.OK, "The folder is being watched."
		}
		out = append(out, c)
	}
	return out
}

// name is how a file is shown in health: its path below the folder, quoted, with
// anything NHI-shaped masked and control characters escaped.
func (w *Watcher) name(folder int, p string) string {
	rel, ok := w.folders[folder].root.Rel(p)
	if !ok {
		rel = filepath.Base(p)
	}
	return fmt.Sprintf("%q", redact.String(filepath.ToSlash(rel)))
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
	var folders sync.WaitGroup
	defer folders.Wait()
	for i := range w.folders {
		folders.Add(1)
		go func() { defer folders.Done(); w.folderLoop(ctx, i, nw) }()
	}
	w.scanAll()

	full := time.NewTicker(w.opt.ScanInterval)
	defer full.Stop()
	var poll <-chan time.Time
	if w.hasPollOnly() {
		t := time.NewTicker(w.opt.PollInterval)
		defer t.Stop()
		poll = t.C
	}
	// The pending timer runs only while some file is waiting to become stable or
	// being taken, so an idle watcher wakes only for full scans.
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
			w.scanAll()
		case <-poll:
			for i, f := range w.folders {
				if f.cfg.PollOnly {
					w.ask(i, "")
				}
			}
		case <-w.rescan:
			w.scanAll()
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if i := w.folderOf(ev.Name); i >= 0 {
				w.ask(i, ev.Name)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// Overflow or any other watcher error: trust nothing, look at everything.
			w.log.Warn("file notifications lost, rescanning", "err", err)
			w.scanAll()
		case <-w.noticed:
		case <-pending.C:
		}
		w.checkPending(ctx)
		arm()
	}
}

// ask hands a folder's goroutine a full scan ("") or a look at one path, without
// waiting: when its queue is full, one full scan covers everything asked.
func (w *Watcher) ask(i int, p string) {
	select {
	case w.folders[i].wake <- p:
	default:
		select {
		case w.folders[i].wake <- "":
		default:
		}
	}
}

func (w *Watcher) scanAll() {
	for i := range w.folders {
		w.ask(i, "")
	}
}

// folderLoop does every file-system look at one folder, so a share that hangs stops
// only its own folder's scans.
func (w *Watcher) folderLoop(ctx context.Context, i int, nw *fsnotify.Watcher) {
	f := w.folders[i]
	if f.cfg.PollOnly {
		nw = nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-f.wake:
			if p == "" {
				w.scanFolder(i, nw)
			} else {
				w.notice(i, nw, p)
			}
		}
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
	if len(w.jobs) > 0 {
		return true
	}
	for _, e := range w.files {
		if !e.done {
			return true
		}
	}
	return false
}

// scanFolder walks one folder, recording every entry (files to take, and links,
// FIFOs and other things that will be refused) and, given nw, making sure each
// directory has a notification watch.
func (w *Watcher) scanFolder(i int, nw *fsnotify.Watcher) {
	f := w.folders[i]
	root := f.root.Path()
	now := w.clock.Now()
	seen := map[string]bool{}
	rootInfo, err := os.Lstat(root)
	switch {
	case err != nil:
	case rootInfo.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0:
		err = errors.New("it is a link or junction, which ClinicPro never follows: set the folder's real path in the configuration")
	case !rootInfo.IsDir():
		err = errors.New("it is a file, not a folder")
	}
	// Ask fsnotify what it really watches: a directory deleted and made again under
	// the same name has lost its watch even though the path looks the same.
	var have map[string]bool
	if nw != nil {
		have = map[string]bool{}
		for _, p := range nw.WatchList() {
			have[p] = true
		}
	}
	if err == nil {
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root {
					return err
				}
				return nil // an unreadable subfolder is skipped, the rest still works
			}
			if d.IsDir() {
				if p != root && originals.SkipDir(d.Name()) {
					return filepath.SkipDir
				}
				if have != nil && !have[p] {
					nw.Add(p) // on failure (watch limit) scans still find the files
				}
				return nil
			}
			if originals.SkipFile(d.Name()) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			seen[p] = true
			w.observe(i, p, info, now)
			return nil
		})
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
		if e.folder == i && !seen[p] && !e.busy {
			delete(w.files, p)
		}
	}
}

// notice looks at one path a notification named: a file is observed, a new
// directory is scanned (it may have arrived whole, with files already in it).
func (w *Watcher) notice(i int, nw *fsnotify.Watcher, p string) {
	root := w.folders[i].root
	info, err := os.Lstat(p)
	if err != nil {
		w.mu.Lock()
		if e, ok := w.files[p]; ok && !e.busy {
			delete(w.files, p)
		}
		w.mu.Unlock()
		return
	}
	rel, inRoot := root.Rel(p)
	if !inRoot || originals.SkipRel(rel) {
		return
	}
	if info.IsDir() {
		if !originals.SkipDir(info.Name()) {
			w.scanFolder(i, nw)
		}
		return
	}
	if originals.SkipFile(info.Name()) {
		return
	}
	w.observe(i, p, info, w.clock.Now())
}

func (w *Watcher) folderOf(p string) int {
	best, bestLen := -1, -1
	for i, f := range w.folders {
		r := f.root.Path()
		if (p == r || strings.HasPrefix(p, r+string(filepath.Separator))) && len(r) > bestLen {
			best, bestLen = i, len(r)
		}
	}
	return best
}

// same reports whether two looks saw the same size, time and kind of entry.
func same(a originals.Info, mode fs.FileMode, size int64, mod time.Time) bool {
	return a.Mode.Type() == mode.Type() && a.Size == size && a.ModTime.Equal(mod)
}

// observe records what a scan or notification saw. A new or changed entry starts
// its stability window again; its identity is read then (on Windows that takes an
// open, so it is not done at every scan of an unchanged file).
func (w *Watcher) observe(folder int, p string, fi fs.FileInfo, now time.Time) {
	w.mu.Lock()
	e, ok := w.files[p]
	unchanged := ok && same(e.info, fi.Mode(), fi.Size(), fi.ModTime())
	w.mu.Unlock()
	if unchanged {
		return
	}
	info := originals.Info{Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime()}
	if fi.Mode().IsRegular() {
		var err error
		if info, err = originals.Lstat(p); err != nil {
			return // gone or unreadable: the next scan decides
		}
	}
	w.record(folder, p, info, now)
}

func (w *Watcher) record(folder int, p string, info originals.Info, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.files[p]
	if ok && same(e.info, info.Mode, info.Size, info.ModTime) && e.info.ID == info.ID {
		return
	}
	if !ok {
		e = &entry{folder: folder}
		w.files[p] = e
	}
	e.info, e.since, e.done, e.retryAt, e.refused = info, now, false, time.Time{}, ""
	if err := originals.Describe(info.Mode); err != nil {
		e.done, e.refused = true, reasonOf(err)
		w.log.Warn("an item in a watched folder will not be taken", "folder", w.folders[folder].cfg.Label, "reason", e.refused)
		return
	}
	select {
	case w.noticed <- struct{}{}:
	default:
	}
}

func reasonOf(err error) string {
	var r *originals.Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return err.Error()
}

// checkPending starts a job for each file that has been stable for the whole window
// and notices jobs that have run too long. It never touches the file system.
func (w *Watcher) checkPending(ctx context.Context) {
	now := w.clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	stuck := 0
	for p, j := range w.jobs {
		if !j.stuck && now.Sub(j.start) >= w.opt.StuckAfter {
			j.stuck = true
			j.release.Do(func() { <-w.slots })
			w.log.Warn("taking a file is stuck; other files go on", "folder", w.folders[w.files[p].folder].cfg.Label, "for", now.Sub(j.start).Round(time.Second))
		}
		if j.stuck {
			stuck++
		}
	}
	for p, e := range w.files {
		if ctx.Err() != nil || stuck >= maxStuck {
			return
		}
		if e.done || e.busy || now.Sub(e.since) < w.opt.StabilityWindow || now.Before(e.retryAt) {
			continue
		}
		select {
		case w.slots <- struct{}{}:
		default:
			return // every worker is busy; the next tick starts more
		}
		e.busy = true
		j := &job{start: now}
		w.jobs[p] = j
		w.running.Add(1)
		go w.take(ctx, p, *e, j)
	}
}

// take is one file's job: look once more, open it through originals, hand it over.
func (w *Watcher) take(ctx context.Context, p string, seen entry, j *job) {
	defer w.running.Done()
	f := w.folders[seen.folder]
	rel, _ := f.root.Rel(p)
	now := func() time.Time { return w.clock.Now() }
	err := w.takeOnce(ctx, p, rel, seen)

	w.mu.Lock()
	defer w.mu.Unlock()
	j.release.Do(func() { <-w.slots })
	delete(w.jobs, p)
	e, ok := w.files[p]
	if !ok {
		return
	}
	e.busy = false
	if !same(e.info, seen.info.Mode, seen.info.Size, seen.info.ModTime) || e.info.ID != seen.info.ID {
		return // it changed meanwhile and is waiting again
	}
	var ref *originals.Refusal
	switch {
	case err == nil:
		e.done = true
		if e.failed != "" {
			w.log.Info("took a file that had failed before", "folder", f.cfg.Label)
		}
	case errors.Is(err, fs.ErrNotExist):
		delete(w.files, p)
	case errors.As(err, &ref):
		e.done, e.refused = true, ref.Reason
		w.log.Warn("a file in a watched folder will not be taken", "folder", f.cfg.Label, "reason", ref.Reason)
	case errors.Is(err, originals.ErrBusy):
		// Still held by its writer: look again next tick.
	case errors.Is(err, originals.ErrChanged):
		e.info.ID, e.since = originals.ID{}, now() // look again from the start
	default:
		e.retryAt = now().Add(w.opt.StabilityWindow)
		if e.failed != err.Error() {
			e.failed = err.Error()
			w.log.Warn("could not take a file, will retry", "folder", f.cfg.Label, "err", err)
		}
	}
}

func (w *Watcher) takeOnce(ctx context.Context, p, rel string, seen entry) error {
	// The window must have passed with this exact size, time and kind.
	info, err := originals.Lstat(p)
	if err != nil {
		return err
	}
	if !same(seen.info, info.Mode, info.Size, info.ModTime) || info.ID != seen.info.ID {
		w.record(seen.folder, p, info, w.clock.Now())
		return errChangedAgain
	}
	if w.beforeOpen != nil {
		w.beforeOpen(p)
	}
	h, err := w.open(w.folders[seen.folder].root, rel, seen.info.ID)
	if err != nil {
		return err
	}
	defer h.Close()
	if w.opt.Handle == nil {
		return nil
	}
	st := h.Info()
	return w.opt.Handle(ctx, File{Folder: w.folders[seen.folder].cfg, Path: p, Rel: rel, Size: st.Size, ModTime: st.ModTime, Body: h})
}

// errChangedAgain: the last look found the file changed and recorded it afresh.
var errChangedAgain = errors.New("changed")

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
