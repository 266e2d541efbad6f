// Package health is the one health model of the product: named checks, each with a
// state, since when, a detail and a fix sentence a person can act on, folded into a
// single aggregate state. The agent builds reports; the tray, `clinicpro status`,
// `clinicpro doctor` and the diagnostics bundle only display them.
package health

import "time"

// State is the result of a check and of the aggregate.
type State string

const (
	OK       State = "ok"
	Degraded State = "degraded"
	Offline  State = "offline"
	// Unknown is a check that has not run yet; it never makes the aggregate worse
	// than Degraded.
	Unknown State = "unknown"
)

// rank orders states from best to worst.
func (s State) rank() int {
	switch s {
	case OK:
		return 0
	case Unknown:
		return 1
	case Degraded:
		return 2
	case Offline:
		return 3
	}
	return 2
}

// worseThan reports whether s is worse than t.
func (s State) worseThan(t State) bool { return s.rank() > t.rank() }

// Check is one named check's latest result.
type Check struct {
	Name   string    `json:"name"`   // stable identifier, e.g. "hcm.service"
	Title  string    `json:"title"`  // what a person reads, e.g. "Hybrid Connection Manager"
	State  State     `json:"state"`  // result of the latest run
	Since  time.Time `json:"since"`  // when State last changed
	Detail string    `json:"detail"` // what was found, one sentence, no patient data
	Fix    string    `json:"fix,omitempty"`
	// Critical checks take the aggregate to Offline when they fail; others only
	// to Degraded.
	Critical bool `json:"critical,omitempty"`
}

// Report is the aggregate with its checks, in a stable order.
type Report struct {
	State   State     `json:"state"`
	Summary string    `json:"summary"` // one sentence: the worst check's detail, or "All good"
	At      time.Time `json:"at"`
	Checks  []Check   `json:"checks"`
}

// Aggregate folds checks into a report. A failing critical check makes the whole
// Offline, any other failure Degraded; the summary is the sentence of the worst check
// so the tray can show one colour and one sentence.
func Aggregate(at time.Time, checks []Check) Report {
	r := Report{State: OK, Summary: "Everything is working.", At: at, Checks: checks}
	var worst *Check
	for i := range checks {
		c := &checks[i]
		s := c.State
		if s == Offline && !c.Critical {
			s = Degraded
		}
		if s == Unknown {
			continue
		}
		if s.worseThan(r.State) {
			r.State = s
			worst = c
		}
	}
	if worst != nil {
		r.Summary = worst.Detail
		if worst.Fix != "" {
			r.Summary += " " + worst.Fix
		}
	}
	return r
}

// FolderCheckName names a watched folder's check, the same in the agent's status
// (the watcher's view) and in doctor (a look at the folder from here).
func FolderCheckName(label string) string { return "folder." + label }
