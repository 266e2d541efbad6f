package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/originals"
	"github.com/clinicpro/medtech-images/internal/profiles"
	"github.com/clinicpro/medtech-images/internal/watch"
)

// UsersInterval is how often the signed-in users are listed again, so a GP who
// signs in has their per-user folders (their Camera Roll) watched within it.
const UsersInterval = 15 * time.Second

// userFolders watches the folders configured in each signed-in user's profile
// (%USERPROFILE% or ~): one watcher per user and folder, started when the user signs
// in and the folder exists, stopped when they sign out. Each expanded folder knows
// its user, so a "session" folder's files go to that user's own newest launch.
type userFolders struct {
	src     profiles.Source
	folders []config.Folder // the per-user ones, as configured
	base    watch.Options   // everything but Folders
	every   time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	running map[string]*userWatch // by expanded path
	// owners and roots remember every expanded folder seen in this run, so an item
	// from a user who has since signed out still finds its folder when it is sent.
	owners map[string]string // expanded path -> the user's SID
	roots  originals.Roots
	users  map[string][]string // configured label -> user names watched
	err    error
	listed bool
}

type userWatch struct {
	w      *watch.Watcher
	cancel context.CancelFunc
	done   chan struct{}
}

func newUserFolders(src profiles.Source, folders []config.Folder, base watch.Options, every time.Duration) *userFolders {
	if every <= 0 {
		every = UsersInterval
	}
	log := base.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &userFolders{src: src, folders: folders, base: base, every: every, log: log,
		running: map[string]*userWatch{}, owners: map[string]string{}, users: map[string][]string{}}
}

// SharedFolders are the folders watched for every user alike, with %PUBLIC%
// expanded as the agent watches them: what `clinicpro doctor` looks at when the
// agent is down.
func SharedFolders(fs []config.Folder, src profiles.Source) []config.Folder {
	shared, _ := splitFolders(fs, src)
	return shared
}

// splitFolders returns the folders watched for every user alike, with %PUBLIC%
// expanded, and the per-user ones.
func splitFolders(fs []config.Folder, src profiles.Source) (shared, perUser []config.Folder) {
	var public string
	for _, f := range fs {
		if f.PerUser() {
			perUser = append(perUser, f)
			continue
		}
		if strings.HasPrefix(strings.ToUpper(f.Path), config.VarPublic) && public == "" && src != nil {
			public, _ = src.Public()
		}
		if p, err := f.Expand("", public); err == nil {
			f.Path = p
		} // else the watcher reports the folder cannot be read, with its path as written
		shared = append(shared, f)
	}
	return shared, perUser
}

// Run follows sign-ins until ctx ends, then stops every watcher.
func (u *userFolders) Run(ctx context.Context) {
	if len(u.folders) == 0 {
		return
	}
	t := time.NewTicker(u.every)
	defer t.Stop()
	for {
		u.refresh(ctx)
		select {
		case <-ctx.Done():
			u.mu.Lock()
			ws := u.running
			u.running = map[string]*userWatch{}
			u.mu.Unlock()
			for _, w := range ws {
				w.cancel()
				<-w.done
			}
			return
		case <-t.C:
		}
	}
}

type wanted struct {
	folder config.Folder
	sid    string
}

func (u *userFolders) refresh(ctx context.Context) {
	users, err := u.src.SignedIn()
	want := map[string]wanted{}
	names := map[string][]string{}
	for _, f := range u.folders {
		for _, us := range users {
			p, xerr := f.Expand(us.Profile, "")
			if xerr != nil {
				continue
			}
			// A folder not made yet (Windows Camera makes the Camera Roll when it saves
			// its first photo) is looked for again at the next refresh.
			if fi, serr := os.Stat(p); serr != nil || !fi.IsDir() {
				continue
			}
			ef := f
			ef.Path, ef.Label = p, fmt.Sprintf("%s (%s)", f.Label, us.Name)
			want[p] = wanted{folder: ef, sid: us.SID}
			names[f.Label] = append(names[f.Label], us.Name)
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.err, u.listed = err, true
	if err != nil {
		return // keep watching whom we watched
	}
	for _, ns := range names {
		slices.Sort(ns)
	}
	u.users = names
	var stopped []*userWatch
	for p, w := range u.running {
		if _, ok := want[p]; !ok {
			stopped = append(stopped, w)
			delete(u.running, p)
		}
	}
	if len(stopped) > 0 {
		// Waited for without the lock: a file being taken asks owner() for its user.
		u.mu.Unlock()
		for _, w := range stopped {
			w.cancel()
			<-w.done
			u.log.Info("stopped watching a signed-out user's folder")
		}
		u.mu.Lock()
	}
	for p, wf := range want {
		if _, ok := u.running[p]; ok {
			continue
		}
		opt := u.base
		opt.Folders = []config.Folder{wf.folder}
		w := watch.New(opt)
		wctx, cancel := context.WithCancel(ctx)
		uw := &userWatch{w: w, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(uw.done)
			if err := w.Run(wctx); err != nil {
				u.log.Error("a per-user folder watcher stopped", "err", err)
			}
		}()
		u.running[p] = uw
		if _, seen := u.owners[p]; !seen {
			u.roots = append(u.roots, originals.NewRoot(p))
		}
		u.owners[p] = wf.sid
		u.log.Info("watching a signed-in user's folder", "folder", wf.folder.Label)
	}
}

// owner returns the SID of the user whose folder a watched file came from.
func (u *userFolders) owner(folderPath string) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	sid, ok := u.owners[folderPath]
	return sid, ok
}

// Find is the uploader's RootFinder for per-user folders.
func (u *userFolders) Find(p string) (originals.Root, string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.roots.Find(p)
}

// Health is each watched user folder's check, and one per configured folder saying
// whose it watches.
func (u *userFolders) Health(now time.Time) []health.Check {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []health.Check
	paths := make([]string, 0, len(u.running))
	for p := range u.running {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		out = append(out, u.running[p].w.Health()...)
	}
	for _, f := range u.folders {
		c := health.Check{Name: health.FolderCheckName(f.Label + " (each signed-in user)"), Title: "Watched folder " + f.Label + " (each signed-in user)"}
		names := u.users[f.Label]
		switch {
		case !u.listed:
			c.State, c.Detail = health.Unknown, "The signed-in users have not been listed yet."
		case u.err != nil:
			c.State, c.Detail = health.Degraded, "Windows did not say who is signed in: "+describeErr(u.err)
			c.Fix = "It is tried again every few seconds; if this stays, restart the ClinicPro Agent service."
		case len(names) == 0 && f.CameraRoll():
			c.State, c.Detail = health.OK, "No signed-in user has a Camera Roll folder yet: Windows Camera makes it when it saves its first photo."
		case len(names) == 0:
			c.State, c.Detail = health.OK, fmt.Sprintf("No signed-in user has a folder %s yet.", filepath.ToSlash(f.Path))
		default:
			c.State, c.Detail = health.OK, fmt.Sprintf("Watching it for %d signed-in user(s): %s.", len(names), strings.Join(names, ", "))
		}
		out = append(out, c)
	}
	return out
}

func describeErr(err error) string {
	s := err.Error()
	if s == "" {
		return "no reason given."
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// rootSet is the uploader's RootFinder: the shared folders, then the per-user ones.
type rootSet struct {
	shared originals.Roots
	users  *userFolders
}

func (r rootSet) Find(p string) (originals.Root, string, bool) {
	if root, rel, ok := r.shared.Find(p); ok {
		return root, rel, ok
	}
	if r.users == nil {
		return originals.Root{}, "", false
	}
	return r.users.Find(p)
}
