package viewmodel

import (
	"context"
	"slices"
	"sync"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Places in the tray a sentence may send a person to: the tray menu's items, in the
// words a fix sentence uses after "ClinicPro Images >". A test holds every fix
// sentence to this list and the list to the menu.
const (
	PlaceOpen           = "Open"
	PlaceUnassigned     = "Unassigned"
	PlaceNeedsAttention = "Needs attention"
	PlaceStatus         = "Status"
	PlacePause          = "Pause uploads"
)

// TrayPlaces are the places above, in menu order.
var TrayPlaces = []string{PlaceOpen, PlaceUnassigned, PlaceNeedsAttention, PlaceStatus, PlacePause}

// Attention is the Needs attention window: every parked item, and every item that
// waits for a reason a person should know, each with its reason from the typed cause
// and what can be done with it. It is how a GP recovers an item without IT.
type Attention struct {
	agent    localapi.Service
	onChange func()

	mu    sync.Mutex
	items []localapi.Item
	err   string
}

// NewAttention returns an empty list; call Refresh to load it.
func NewAttention(agent localapi.Service, onChange func()) *Attention {
	if onChange == nil {
		onChange = func() {}
	}
	return &Attention{agent: agent, onChange: onChange}
}

// needsAttention: parked items need a person; queued ones with a cause are waiting
// for something outside the PC (Medtech offline, the relay busy) and are shown so
// nobody wonders where they went.
func needsAttention(it localapi.Item) bool {
	return it.State == localapi.StateParked || it.State == localapi.StateQueued && it.Cause != ""
}

// Refresh reloads the list from the agent's queue.
func (n *Attention) Refresh(ctx context.Context) error {
	items, err := n.agent.Queue(ctx)
	n.mu.Lock()
	if err != nil {
		n.err = Sentence(err)
	} else {
		n.items, n.err = slices.DeleteFunc(items, func(it localapi.Item) bool { return !needsAttention(it) }), ""
	}
	n.mu.Unlock()
	n.onChange()
	return err
}

// HandleItem keeps the list current from the event stream.
func (n *Attention) HandleItem(it localapi.Item) {
	n.mu.Lock()
	i := slices.IndexFunc(n.items, func(x localapi.Item) bool { return x.ID == it.ID })
	switch {
	case needsAttention(it) && i < 0:
		n.items = append(n.items, it)
	case needsAttention(it):
		n.items[i] = it
	case i >= 0:
		n.items = slices.Delete(n.items, i, i+1)
	default:
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	n.onChange()
}

// AttentionItem is one row: the item, why, what to do, and the actions it allows.
type AttentionItem struct {
	localapi.Item
	Waiting  bool   // queued: it will go by itself
	Sentence string // why, from the typed cause (or the agent's reason)
	Fix      string // what to do
	// CanSendAgain: Medtech may already hold it (the relay could not check); only a
	// person who looked in the patient's Inbox Scan may send it under a new key.
	CanRetry, CanSendAgain, CanGive, CanDiscard bool
}

// Count is how many items the list holds (the menu's label).
func (n *Attention) Count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.items)
}

// Items returns the rows and the last error sentence, if any.
func (n *Attention) Items() ([]AttentionItem, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]AttentionItem, 0, len(n.items))
	for _, it := range n.items {
		r := AttentionItem{Item: it, Waiting: it.State == localapi.StateQueued}
		c := api.Cause(it.Cause)
		if c.Known() {
			r.Sentence, r.Fix = c.Sentence(), c.Fix()
		} else {
			r.Sentence = it.Reason
			if r.Sentence == "" {
				r.Sentence = "Medtech did not accept this image."
			}
			r.Fix = "Retry it, give it to the patient open in ClinicPro, or discard it to the Rejected folder."
		}
		if it.Correlation != "" {
			r.Fix += " (Reference " + it.Correlation + ")"
		}
		if !r.Waiting {
			r.CanSendAgain = c == api.CauseUnresolved
			// Retrying an item Medtech may already hold would only be refused again.
			r.CanRetry = !r.CanSendAgain
			r.CanGive, r.CanDiscard = true, true
		}
		out = append(out, r)
	}
	return out, n.err
}

// Retry re-queues a parked item as it is.
func (n *Attention) Retry(ctx context.Context, id string) error {
	it, err := n.agent.Retry(ctx, id)
	return n.after(it, err)
}

// SendAgain sends a parked item under a new key, after a person checked Medtech.
func (n *Attention) SendAgain(ctx context.Context, id string) error {
	it, err := n.agent.SendAgain(ctx, id)
	return n.after(it, err)
}

// Discard moves a parked item to the Rejected folder (never deleted).
func (n *Attention) Discard(ctx context.Context, id string) error {
	it, err := n.agent.Discard(ctx, id)
	return n.after(it, err)
}

// Give files a parked item under the patient of an open capture window instead.
func (n *Attention) Give(ctx context.Context, id string, capture *Capture) error {
	s, ok := capture.Session()
	if !ok || !capture.HasPatient() {
		n.setErr("Open the patient in Medtech and click the ClinicPro icon first, then give the image to them.")
		return errNoPatientWindow
	}
	it, err := n.agent.Assign(ctx, id, s.ID)
	return n.after(it, err)
}

func (n *Attention) after(it localapi.Item, err error) error {
	if err != nil {
		n.setErr(Sentence(err))
		return err
	}
	n.setErr("")
	n.HandleItem(it)
	return nil
}

func (n *Attention) setErr(s string) {
	n.mu.Lock()
	n.err = s
	n.mu.Unlock()
	n.onChange()
}
