package doctor

import (
	"context"
	"time"

	"github.com/clinicpro/medtech-images/internal/hcm"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
)

// Folder is a watched folder as the checks need it.
type Folder struct{ Label, Path string }

// Deps is everything the standard probes look at. Nil or empty fields drop the
// probes that need them (no HCM monitor on a PC that does not host HCM, no relay
// before enrolment).
type Deps struct {
	// Agent answers when the agent is up (the localapi client's Status); nil
	// inside the agent itself, which is evidently running.
	Agent func(context.Context) error
	// HCM polls live in `clinicpro doctor`; in the agent, HCMLatest returns the
	// running monitor's latest checks instead of polling a second time.
	HCM       *hcm.Monitor
	HCMLatest bool
	Relay     checks.RelayHealth
	SpoolDir  string
	// MinFree is the free space below which the spool disk is Degraded. There is
	// no default here: callers pass agent.MinFreeSpool (which doctor cannot import),
	// so the agent's status and doctor judge the disk by the same floor.
	MinFree uint64
	Folders []Folder
	// Queue reads the durable queue's counts.
	Queue       func(context.Context) (checks.QueueState, error)
	QueueLimits checks.QueueLimits
}

// Probes returns the standard probes in display order: agent, HCM, relay and
// Medtech, queue, disk, folders.
func Probes(d Deps) []Probe {
	var ps []Probe
	if d.Agent != nil {
		ps = append(ps, Probe{Name: checks.NameAgent, Title: "ClinicPro agent", Run: func(ctx context.Context) []health.Check {
			return []health.Check{checks.Agent(ctx, d.Agent)}
		}})
	}
	if d.HCM != nil {
		ps = append(ps, Probe{Name: hcm.CheckService, Title: "Hybrid Connection Manager", Logged: d.HCMLatest, Run: func(ctx context.Context) []health.Check {
			if d.HCMLatest {
				if cs := d.HCM.Checks(); cs != nil {
					return cs
				}
			}
			return d.HCM.Poll(ctx)
		}})
	}
	if d.Relay != nil {
		ps = append(ps, Probe{Name: checks.NameRelay, Title: "ClinicPro relay", Run: func(ctx context.Context) []health.Check {
			return checks.Relay(ctx, d.Relay)
		}})
	}
	if d.Queue != nil {
		ps = append(ps, Probe{Name: checks.NameBacklog, Title: "Upload queue", Run: func(ctx context.Context) []health.Check {
			q, err := d.Queue(ctx)
			if err != nil {
				return []health.Check{{Name: checks.NameBacklog, Title: "Upload queue", State: health.Unknown,
					Detail: "Could not read the upload queue.", Fix: FixQueueUnread}}
			}
			return checks.Queue(time.Now(), q, d.QueueLimits)
		}})
	}
	if d.SpoolDir != "" {
		ps = append(ps, Probe{Name: checks.NameDisk, Title: "Spool disk space", Run: func(ctx context.Context) []health.Check {
			return []health.Check{checks.Disk(ctx, d.SpoolDir, d.MinFree)}
		}})
	}
	for _, f := range d.Folders {
		ps = append(ps, Probe{Name: health.FolderCheckName(f.Label), Title: "Watched folder " + f.Label, Run: func(context.Context) []health.Check {
			return []health.Check{checks.Folder(f.Label, f.Path)}
		}})
	}
	return ps
}

// FixQueueUnread is shown when the queue database cannot be read.
const FixQueueUnread = "Restart the ClinicPro agent service; if this repeats, send a diagnostics bundle to ClinicPro support."
