package checks

import (
	"context"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
)

// NameEnrolled is the check that stands in for the relay's while the PC is not enrolled.
const NameEnrolled = "agent.enrolled"

// FixNotEnrolled is the one sentence, in status and in doctor, for a PC with no
// relay credentials.
const FixNotEnrolled = "Run `clinicpro enrol --relay URL --code CODE` as an administrator."

// NameConfig is the check of the configuration file, which only a look from
// outside the agent makes (doctor, a bundle the tray makes): an agent whose
// configuration does not load does not run.
const NameConfig = "config"

// FixConfig is the fix for a configuration file that does not load.
const FixConfig = "Correct the line named above, then start the agent again."

// FixQueueUnread is shown when the queue database cannot be read.
const FixQueueUnread = "Restart the ClinicPro agent service; if this repeats, send a diagnostics bundle to ClinicPro support."

// MinFreeSpool is the free space below which the spool's disk is reported.
const MinFreeSpool = 500 << 20

// WatchedFolder is a watched folder as the catalogue names and looks at it.
type WatchedFolder struct{ Label, Path string }

// Deps are what the checks look at: the agent's dependencies. The running agent
// fills them from its own parts; `clinicpro doctor` with the agent down fills what
// it can from the configuration and the stored credentials. A nil field drops the
// checks that need it, except Relay, whose absence is the enrolment check.
type Deps struct {
	// Relay is the enrolled PC's relay; nil when the PC is not enrolled.
	Relay RelayHealth
	// NotEnrolled, with Relay nil, says why when it is more than "never enrolled"
	// (credentials that cannot be read).
	NotEnrolled string
	// Uploads is the uploader's view (the running agent only), HCM the Hybrid
	// Connection Manager's checks on the PC that hosts it, Rollout what the
	// installer's enrolment left (a refused code). Each producer names its own
	// probe; a Run of nil leaves it out.
	Uploads, HCM, Rollout health.Probe
	// Queue reads the durable queue's counts (the running agent only).
	Queue    func(ctx context.Context) (QueueState, error)
	SpoolDir string
	Folders  []WatchedFolder
	// Watcher is the folder watcher's view of Folders; nil: each folder is looked
	// at from here (Folder).
	Watcher func() []health.Check
}

// Catalogue is the one list of the agent's checks, in display order: relay (or
// enrolment), disk, queue, uploads, watched folders, the installer's enrolment and
// HCM. The agent runs it for its status (and the tray and `clinicpro status` show
// that); `clinicpro doctor` shows the agent's or, when the agent is down, runs the
// same catalogue built from what it can read. So both name every check alike.
func Catalogue(d Deps) []health.Probe {
	var ps []health.Probe
	if d.Relay != nil {
		ps = append(ps, health.Probe{Name: NameRelay, Title: "ClinicPro relay", Costly: true, Run: func(ctx context.Context) []health.Check {
			return Relay(ctx, d.Relay)
		}})
	} else {
		ps = append(ps, health.Probe{Name: NameEnrolled, Title: "Enrolment", Run: func(context.Context) []health.Check {
			return []health.Check{NotEnrolled(d.NotEnrolled)}
		}})
	}
	if d.SpoolDir != "" {
		ps = append(ps, health.Probe{Name: NameDisk, Title: "Spool disk space", Costly: true, Run: func(ctx context.Context) []health.Check {
			return []health.Check{Disk(ctx, d.SpoolDir, MinFreeSpool)}
		}})
	}
	if d.Queue != nil {
		ps = append(ps, health.Probe{Name: NameBacklog, Title: "Upload queue", Costly: true, Run: func(ctx context.Context) []health.Check {
			q, err := d.Queue(ctx)
			if err != nil {
				return []health.Check{{Name: NameBacklog, Title: "Upload queue", State: health.Unknown,
					Detail: "Could not read the upload queue.", Fix: FixQueueUnread}}
			}
			return Queue(time.Now(), q, QueueLimits{})
		}})
	}
	if d.Uploads.Run != nil {
		ps = append(ps, d.Uploads)
	}
	if d.Watcher != nil {
		ps = append(ps, health.Probe{Name: "folders", Title: "Watched folders", Run: func(context.Context) []health.Check {
			return d.Watcher()
		}})
	} else {
		for _, f := range d.Folders {
			ps = append(ps, health.Probe{Name: health.FolderCheckName(f.Label), Title: "Watched folder " + f.Label, Costly: true,
				Run: func(context.Context) []health.Check { return []health.Check{Folder(f.Label, f.Path)} }})
		}
	}
	for _, p := range []health.Probe{d.Rollout, d.HCM} {
		if p.Run != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// NotEnrolled is the check for a PC with no relay credentials; why, when not empty,
// replaces the usual detail.
func NotEnrolled(why string) health.Check {
	if why == "" {
		why = "This PC is not connected to the ClinicPro relay."
	}
	return health.Check{Name: NameEnrolled, Title: "Enrolment", State: health.Offline, Critical: true, Detail: why, Fix: FixNotEnrolled}
}
