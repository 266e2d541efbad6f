package viewmodel

import (
	"fmt"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
)

// Icon is the tray icon's state; assets has one image per state.
type Icon string

const (
	IconOK        Icon = "ok"
	IconUploading Icon = "uploading"
	IconAttention Icon = "attention"
	IconOffline   Icon = "offline"
)

// OfflineNotifyAfter is how long the practice must be offline before a person is
// told: HCM restarts and PC wake-ups routinely cause a minute or two of offline.
const OfflineNotifyAfter = 5 * time.Minute

// Notice is a best-effort desktop notification. Its text never names a patient:
// toasts show on the lock screen and in the notification history.
type Notice struct{ Title, Body string }

// TrayView is what the tray icon and menu show.
type TrayView struct {
	Icon       Icon
	Sentence   string // one sentence for the tooltip and the Status window heading
	Unassigned string // menu label "Unassigned (n)"
	Attention  string // menu label "Needs attention (n)"
	Pause      string // "Pause uploads" or "Resume uploads"
	Paused     bool
	Connected  bool
	Status     localapi.Status
}

// Tray follows the agent's event stream and decides the icon, the menu labels and
// what deserves a notification.
type Tray struct {
	mu           sync.Mutex
	status       localapi.Status
	connected    bool
	offlineSince time.Time
	toldOffline  bool
	lastParked   time.Time
	// statusAt is when the last Status arrived; lostAt when the agent stopped
	// answering (zero while connected).
	statusAt time.Time
	lostAt   time.Time
	// rechecking while a Re-check now waits for the agent; recheckErr is why the
	// last one failed.
	rechecking bool
	recheckErr string
}

// NewTray starts disconnected until the first Status arrives.
func NewTray() *Tray { return &Tray{} }

// SetStatus records a fresh Status (from an event or a call) at time now.
func (t *Tray) SetStatus(st localapi.Status, now time.Time) []Notice {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.status, t.connected, t.statusAt, t.lostAt = st, true, now, time.Time{}
	if st.Health.State == health.Offline {
		if t.offlineSince.IsZero() {
			t.offlineSince = now
		}
	} else {
		t.offlineSince, t.toldOffline = time.Time{}, false
	}
	return t.tickLocked(now)
}

// Disconnected records that the agent's stream ended: the tray cannot know anything
// until it is back, and says so.
func (t *Tray) Disconnected(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.connected || t.lostAt.IsZero() {
		t.lostAt = now
	}
	t.connected = false
}

// HandleItem returns the notices an item change deserves: a parked item needs a person.
// At most one per ParkedNoticeEvery: a batch refused together (a locked record, a
// revoked connector) must not bury the GP in toasts; the icon keeps the count.
func (t *Tray) HandleItem(it localapi.Item, now time.Time) []Notice {
	if it.State != localapi.StateParked {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.lastParked.IsZero() && now.Sub(t.lastParked) < ParkedNoticeEvery {
		return nil
	}
	t.lastParked = now
	return []Notice{{Title: "An image was not saved to Medtech", Body: "Open " + PlaceNeedsAttention + " in the ClinicPro Images tray menu to see why and what to do."}}
}

// ParkedNoticeEvery spaces notifications about parked items.
const ParkedNoticeEvery = time.Minute

// Tick returns the offline notice once the practice has been offline long enough.
func (t *Tray) Tick(now time.Time) []Notice {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tickLocked(now)
}

func (t *Tray) tickLocked(now time.Time) []Notice {
	if t.offlineSince.IsZero() || t.toldOffline || now.Sub(t.offlineSince) < OfflineNotifyAfter {
		return nil
	}
	t.toldOffline = true
	return []Notice{{Title: "Medtech is offline", Body: "Images are kept and will be sent when the practice is back online. " + t.status.Health.Summary}}
}

// View returns the icon and menu state.
func (t *Tray) View() TrayView {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.status
	v := TrayView{Status: st, Connected: t.connected, Paused: st.Paused,
		Unassigned: fmt.Sprintf("%s (%d)", PlaceUnassigned, st.Counts.Unassigned), Pause: PlacePause,
		Attention: fmt.Sprintf("%s (%d)", PlaceNeedsAttention, st.Counts.Parked)}
	if st.Paused {
		v.Pause = "Resume uploads"
	}
	c := st.Counts
	switch {
	case !t.connected:
		v.Icon, v.Sentence = IconOffline, agentDown
	case !st.Enrolled:
		v.Icon, v.Sentence = IconAttention, localapi.ErrNotEnrolled.Message
	case st.Health.State == health.Offline:
		v.Icon, v.Sentence = IconOffline, st.Health.Summary
	case (c.Parked > 0 || c.Unassigned > 0) && st.Health.State == health.Degraded:
		// The agent's health says why in the cause's own words (Medtech refused it,
		// may already hold it, has no such patient, ...) and what to do.
		v.Icon, v.Sentence = IconAttention, st.Health.Summary
	case c.Parked > 0:
		v.Icon, v.Sentence = IconAttention, plural(c.Parked, "image was", "images were")+" not saved to Medtech: open "+PlaceNeedsAttention+" in the tray menu to see why and what to do."
	case c.Unassigned > 0:
		v.Icon, v.Sentence = IconAttention, plural(c.Unassigned, "file is", "files are")+" waiting to be assigned to a patient: open "+PlaceUnassigned+" in the tray menu."
	case st.Paused:
		v.Icon, v.Sentence = IconAttention, "Uploads are paused: choose Resume uploads in the tray menu."
	case st.Health.State == health.Degraded:
		v.Icon, v.Sentence = IconAttention, st.Health.Summary
	case c.Queued+c.Uploading > 0:
		v.Icon, v.Sentence = IconUploading, "Sending "+plural(c.Queued+c.Uploading, "image", "images")+" to Medtech."
	default:
		v.Icon, v.Sentence = IconOK, "All images are saved to Medtech."
	}
	return v
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
