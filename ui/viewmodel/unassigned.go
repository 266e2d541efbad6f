package viewmodel

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

// Unassigned is the list of watched-folder files that carry no patient. Nothing is
// guessed: a GP assigns each to the open capture window's patient or rejects it.
type Unassigned struct {
	agent    localapi.Service
	onChange func()

	mu    sync.Mutex
	items []localapi.Item
	err   string
	// selected are the rows ticked for one confirmation; seen are the items whose
	// image a GP has been shown (the confirmation shows them before it can be
	// accepted): nothing is filed unseen.
	selected map[string]bool
	seen     map[string]bool
}

// NewUnassigned returns an empty list; call Refresh to load it.
func NewUnassigned(agent localapi.Service, onChange func()) *Unassigned {
	if onChange == nil {
		onChange = func() {}
	}
	return &Unassigned{agent: agent, onChange: onChange, selected: map[string]bool{}, seen: map[string]bool{}}
}

// Select ticks or unticks a row.
func (u *Unassigned) Select(id string, on bool) {
	u.mu.Lock()
	if on {
		u.selected[id] = true
	} else {
		delete(u.selected, id)
	}
	u.mu.Unlock()
	u.onChange()
}

// SelectAll ticks every row, or none.
func (u *Unassigned) SelectAll(on bool) {
	u.mu.Lock()
	u.selected = map[string]bool{}
	if on {
		for _, it := range u.items {
			u.selected[it.ID] = true
		}
	}
	u.mu.Unlock()
	u.onChange()
}

// Selected is the ticked rows' ids, in list order.
func (u *Unassigned) Selected() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, it := range u.items {
		if u.selected[it.ID] {
			out = append(out, it.ID)
		}
	}
	return out
}

// IsSelected reports whether a row is ticked.
func (u *Unassigned) IsSelected(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.selected[id]
}

// Seen records that an item's image was on screen (a preview or the confirmation).
func (u *Unassigned) Seen(id string) {
	u.mu.Lock()
	u.seen[id] = true
	u.mu.Unlock()
}

// TextNotSeen refuses to file an image nobody has looked at.
const TextNotSeen = "Look at each image before filing it: open its preview, or wait for the confirmation to show it."

// AssignAll files items under capture's patient after one confirmation. Every image
// must have been shown first (Seen); otherwise nothing is filed.
func (u *Unassigned) AssignAll(ctx context.Context, ids []string, capture *Capture) error {
	u.mu.Lock()
	for _, id := range ids {
		if !u.seen[id] {
			u.mu.Unlock()
			u.setErr(TextNotSeen)
			return errNotSeen
		}
	}
	u.mu.Unlock()
	for _, id := range ids {
		if err := u.Assign(ctx, id, capture); err != nil {
			return err
		}
	}
	return nil
}

// RejectAll moves every item's file to Rejected (never deleted).
func (u *Unassigned) RejectAll(ctx context.Context, ids []string) error {
	for _, id := range ids {
		if err := u.Reject(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// Refresh reloads the list from the agent.
func (u *Unassigned) Refresh(ctx context.Context) error {
	items, err := u.agent.Unassigned(ctx)
	u.mu.Lock()
	if err != nil {
		u.err = Sentence(err)
	} else {
		u.items, u.err = items, ""
	}
	u.mu.Unlock()
	u.onChange()
	return err
}

// HandleItem keeps the list current from the event stream.
func (u *Unassigned) HandleItem(it localapi.Item) {
	u.mu.Lock()
	i := slices.IndexFunc(u.items, func(x localapi.Item) bool { return x.ID == it.ID })
	switch {
	case it.State == localapi.StateUnassigned && i < 0:
		u.items = append(u.items, it)
	case it.State == localapi.StateUnassigned:
		u.items[i] = it
	case i >= 0:
		u.items = slices.Delete(u.items, i, i+1)
		delete(u.selected, it.ID)
	default:
		u.mu.Unlock()
		return
	}
	u.mu.Unlock()
	u.onChange()
}

// Items returns the list and the last error sentence, if any.
func (u *Unassigned) Items() ([]localapi.Item, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.items), u.err
}

// ConfirmText is what the GP reads before assigning: the banner of the patient the
// file will be filed under, so a wrong window is caught before anything is sent.
func ConfirmText(b localapi.Banner, fileName string, now time.Time) string {
	return "Save " + fileName + " to this patient?\n\n" + NewPatientBanner(b, now).String()
}

// ConfirmQuestion heads the confirmation for n images.
func ConfirmQuestion(n int) string {
	if n == 1 {
		return "File this image to this patient?"
	}
	return fmt.Sprintf("File these %d images to this patient?", n)
}

// Assign files an item under the patient of capture's session (AssignAll checks it
// was seen; this is its single step).
func (u *Unassigned) Assign(ctx context.Context, itemID string, capture *Capture) error {
	s, ok := capture.Session()
	if !ok || !capture.HasPatient() {
		u.setErr("Open the patient in Medtech and click the ClinicPro icon first, then assign.")
		return errNoPatientWindow
	}
	it, err := u.agent.Assign(ctx, itemID, s.ID)
	return u.after(it, err)
}

// Reject moves an item's file to the Rejected folder (never deleted).
func (u *Unassigned) Reject(ctx context.Context, itemID string) error {
	it, err := u.agent.Reject(ctx, itemID)
	return u.after(it, err)
}

func (u *Unassigned) after(it localapi.Item, err error) error {
	if err != nil {
		u.setErr(Sentence(err))
		return err
	}
	u.setErr("")
	u.HandleItem(it)
	return nil
}

func (u *Unassigned) setErr(s string) {
	u.mu.Lock()
	u.err = s
	u.mu.Unlock()
	u.onChange()
}

type constErr string

func (e constErr) Error() string { return string(e) }

const (
	errNoPatientWindow = constErr("no capture window with a patient is open")
	errNotSeen         = constErr("an image was not shown before filing")
)
