// Package checks holds the agent's health checks other than HCM's (those live in
// internal/hcm): agent running, spool disk space, watched folders, queue, and what
// the relay's /v1/health says about the relay, credentials, ALEX and the facility.
// Each returns health.Checks with a fix sentence (a relay failure's sentence and fix
// are its api.Cause's); the agent and `clinicpro doctor` run them, health.Tracker
// stamps Since.
package checks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/shirou/gopsutil/v3/disk"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Check names.
const (
	NameAgent       = "agent.running"
	NameDisk        = "spool.disk"
	NameBacklog     = "queue.backlog"
	NameParked      = "queue.parked"
	NameUnassigned  = "queue.unassigned"
	NameRelay       = "relay.reachable"
	NameCredentials = "relay.credentials"
	NameALEXToken   = "alex.token"
	NameFacility    = "facility.reachable"
)

// Fix sentences, also listed in docs/troubleshooting.md.
const (
	FixAgent        = "Start the ClinicPro agent service in Services (services.msc), or reinstall ClinicPro Images if it is missing."
	FixDisk         = "Free space on the drive that holds the ClinicPro spool, or move the spool to a larger drive in the agent's configuration; nothing is lost meanwhile."
	FixDiskUnread   = "Check that the spool folder in the agent's configuration exists and that the agent can read it."
	FixFolderGone   = "The watched folder does not exist: create it, reconnect the network drive, or correct the folder in the agent's configuration."
	FixFolderDenied = "The agent is not allowed to read the watched folder: give the ClinicPro agent's account (LocalSystem, or the computer account for a network share) read and modify rights on it."
	FixFolderNotDir = "The watched folder path points at a file, not a folder: correct it in the agent's configuration."
	FixFolderShare  = "The agent reaches network shares as this PC's computer account (or the account its service runs as), and this share does not let it in: give that account read and change permission on the share and the folder, or run the ClinicPro Agent service as a dedicated account that can reach it (docs/rollout.md, \"Watched folders on network shares\")."
	FixFolderMapped = "A drive letter mapped for a signed-in user is invisible to the ClinicPro Agent service: use the share's full \\\\server\\share path in the agent's configuration instead."
	FixBacklog      = "Images are waiting to upload: check the other red items first (usually Medtech or the relay is unreachable); uploads resume by themselves."
	FixParked       = "Some images could not be sent: open ClinicPro Images > Needs attention, read the reason on each, then Retry, Send again or Discard it."
)

// Agent reports whether the agent answers on its local API; ping is usually the
// localapi client's Status call.
func Agent(ctx context.Context, ping func(context.Context) error) health.Check {
	c := health.Check{Name: NameAgent, Title: "ClinicPro agent", Critical: true}
	if err := ping(ctx); err != nil {
		c.State, c.Detail, c.Fix = health.Offline, "The ClinicPro agent is not running or does not answer.", FixAgent
		return c
	}
	c.State, c.Detail = health.OK, "running"
	return c
}

// Disk reports free space where the spool lives; below minFree it is Degraded,
// because new items cannot be queued once the disk is full.
func Disk(ctx context.Context, path string, minFree uint64) health.Check {
	c := health.Check{Name: NameDisk, Title: "Spool disk space"}
	u, err := disk.UsageWithContext(ctx, path)
	if err != nil {
		c.State, c.Detail, c.Fix = health.Unknown, "Could not read the free space of the spool drive.", FixDiskUnread
		return c
	}
	if u.Free < minFree {
		c.State, c.Fix = health.Degraded, FixDisk
		c.Detail = fmt.Sprintf("Only %s free on the spool drive (needs %s).", bytes(u.Free), bytes(minFree))
		return c
	}
	c.State, c.Detail = health.OK, bytes(u.Free)+" free"
	return c
}

// Folder reports whether a watched folder can be listed. label names it in the
// check (e.g. "scanner"); the path is scrubbed before it reaches the detail
// because practices name folders after patients.
func Folder(label, path string) health.Check {
	c := health.Check{Name: health.FolderCheckName(label), Title: "Watched folder " + label}
	// A mapped drive letter works for the person who mapped it and never for the
	// service, even where this check (run by doctor as that person) can read it.
	if mappedDrive(path) {
		c.State, c.Detail, c.Fix = health.Degraded, fmt.Sprintf("%s is on a mapped network drive.", redact.String(path)), FixFolderMapped
		return c
	}
	fi, err := os.Stat(path)
	if err == nil && !fi.IsDir() {
		c.State, c.Detail, c.Fix = health.Degraded, fmt.Sprintf("%s is not a folder.", redact.String(path)), FixFolderNotDir
		return c
	}
	if err == nil {
		var f *os.File
		if f, err = os.Open(path); err == nil {
			_, err = f.Readdirnames(1)
			f.Close()
			if errors.Is(err, io.EOF) {
				err = nil
			}
		}
	}
	switch {
	case err == nil:
		c.State, c.Detail = health.OK, "readable"
	case networkPath(path):
		// As LocalSystem the agent is the computer account on the network: in a
		// workgroup, or on a share that grants only users, it has no access, and
		// Windows reports that as "not found" as often as "denied".
		c.State, c.Detail, c.Fix = health.Degraded, fmt.Sprintf("%s cannot be reached as %s.", redact.String(path), serviceAccount()), FixFolderShare
	case errors.Is(err, os.ErrNotExist):
		c.State, c.Detail, c.Fix = health.Degraded, fmt.Sprintf("%s does not exist.", redact.String(path)), FixFolderGone
	case errors.Is(err, os.ErrPermission):
		c.State, c.Detail, c.Fix = health.Degraded, fmt.Sprintf("%s cannot be read: permission denied.", redact.String(path)), FixFolderDenied
	default:
		c.State, c.Detail, c.Fix = health.Degraded, fmt.Sprintf("%s cannot be read.", redact.String(path)), FixFolderGone
	}
	return c
}

// QueueState is what the queue checks need from the durable queue.
type QueueState struct {
	Queued int
	Parked int
	// OldestQueued is when the oldest item still waiting was queued; zero if none.
	OldestQueued time.Time
	// Latest is the most recently parked item's problem, so the check says why in
	// that item's own words; LatestUnassigned the same for items the relay sent back
	// to Unassigned (Medtech has no such patient). Unassigned counts only those.
	Latest           Problem
	Unassigned       int
	LatestUnassigned Problem
}

// Problem is why an item waits for a person: the relay's cause when it gave one,
// and the reason stored on the item.
type Problem struct {
	Cause  api.Cause
	Reason string
}

// why is the cause's sentence, or for a plain refusal the relay's own sentence,
// which says what was wrong with that file.
func (p Problem) why() string {
	if p.Cause == api.CauseRefused && p.Reason != "" {
		return p.Reason
	}
	return p.Cause.Sentence()
}

// QueueLimits say when a backlog is worth a person's attention.
type QueueLimits struct {
	MaxQueued int           // 50 when zero
	MaxAge    time.Duration // 30 min when zero
}

// Queue reports the backlog (too many or too old items waiting) and parked items.
func Queue(now time.Time, q QueueState, lim QueueLimits) []health.Check {
	if lim.MaxQueued <= 0 {
		lim.MaxQueued = 50
	}
	if lim.MaxAge <= 0 {
		lim.MaxAge = 30 * time.Minute
	}
	backlog := health.Check{Name: NameBacklog, Title: "Upload queue", State: health.OK, Detail: fmt.Sprintf("%d waiting", q.Queued)}
	age := time.Duration(0)
	if q.Queued > 0 && !q.OldestQueued.IsZero() {
		age = now.Sub(q.OldestQueued)
	}
	if q.Queued > lim.MaxQueued || age > lim.MaxAge {
		backlog.State, backlog.Fix = health.Degraded, FixBacklog
		backlog.Detail = fmt.Sprintf("%d images are waiting to upload, the oldest for %s.", q.Queued, age.Round(time.Minute))
	}
	parked := health.Check{Name: NameParked, Title: "Items needing attention", State: health.OK, Detail: "none"}
	if q.Parked > 0 {
		parked.State, parked.Fix = health.Degraded, FixParked
		parked.Detail = fmt.Sprintf("%d images could not be sent and need a person to decide.", q.Parked)
		if q.Latest.Cause.Known() {
			parked.Detail = fmt.Sprintf("%d images could not be sent. The latest: %s", q.Parked, q.Latest.why())
			parked.Fix = q.Latest.Cause.Fix()
		}
	}
	un := health.Check{Name: NameUnassigned, Title: "Files Medtech could not match", State: health.OK, Detail: "none"}
	if q.Unassigned > 0 {
		c := q.LatestUnassigned.Cause
		un.State, un.Fix = health.Degraded, c.Fix()
		un.Detail = fmt.Sprintf("%d files are back in Unassigned. The latest: %s", q.Unassigned, q.LatestUnassigned.why())
	}
	return []health.Check{backlog, parked, un}
}

func bytes(n uint64) string {
	const gb, mb = 1 << 30, 1 << 20
	if n >= gb {
		return fmt.Sprintf("%.1f GB", float64(n)/gb)
	}
	return fmt.Sprintf("%d MB", n/mb)
}

// networkPath reports whether path is a UNC path (\\server\share\...).
func networkPath(path string) bool {
	return len(path) > 2 && (path[0] == '\\' || path[0] == '/') && (path[1] == '\\' || path[1] == '/') && path[2] != '?' && path[2] != '.'
}
