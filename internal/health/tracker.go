package health

import (
	"sync"
	"time"
)

// Change is one check moving from one state to another: what the event log, the
// tray's notifications and the audit of HCM restarts are fed from.
type Change struct {
	At     time.Time `json:"at"`
	Name   string    `json:"name"`
	Title  string    `json:"title"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	Detail string    `json:"detail"`
	Fix    string    `json:"fix,omitempty"`
}

// Tracker remembers each check's last state across runs so Since means "since the
// state last changed" rather than "since the last poll", and reports the changes.
// The zero value is ready; it is safe for concurrent use.
type Tracker struct {
	mu   sync.Mutex
	prev map[string]Check
}

// Update stamps Since on checks (in place, and returns them) and lists the checks
// whose state differs from the previous run. A check seen for the first time counts
// as a change from Unknown.
func (t *Tracker) Update(now time.Time, checks []Check) ([]Check, []Change) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.prev == nil {
		t.prev = map[string]Check{}
	}
	var changes []Change
	for i := range checks {
		c := &checks[i]
		p, seen := t.prev[c.Name]
		from := Unknown
		if seen {
			from = p.State
		}
		if seen && p.State == c.State && !p.Since.IsZero() {
			c.Since = p.Since
		} else if c.Since.IsZero() {
			c.Since = now
		}
		if from != c.State {
			changes = append(changes, Change{At: now, Name: c.Name, Title: c.Title, From: from, To: c.State, Detail: c.Detail, Fix: c.Fix})
		}
		t.prev[c.Name] = *c
	}
	return checks, changes
}
