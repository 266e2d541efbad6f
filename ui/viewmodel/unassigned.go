package viewmodel

import (
	"context"
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
}

// NewUnassigned returns an empty list; call Refresh to load it.
func NewUnassigned(agent localapi.Service, onChange func()) *Unassigned {
	if onChange == nil {
		onChange = func() {}
	}
	return &Unassigned{agent: agent, onChange: onChange}
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

// Assign files an item under the patient of capture's session.
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

const errNoPatientWindow = constErr("no capture window with a patient is open")
