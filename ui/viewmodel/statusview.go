package viewmodel

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/version"
)

// StatusView is the Status window for practice IT: the verdict, the queue and the
// last upload first (what they open it for), then each check with since when it has
// been in its state and what to do, then the facts support asks for.
type StatusView struct {
	Icon       Icon
	Verdict    string // the tray's one sentence
	State      string // "OK", "Needs attention", "Offline", "Agent not answering"
	Queue      string
	LastUpload string
	// Stale, when the agent is not answering, says that what follows is what it
	// last reported, and when.
	Stale  string
	Checks []CheckRow
	Facts  [][2]string
	// CanRecheck: the agent answers and no re-check is running; Rechecking while one
	// is; RecheckNote is the last one's outcome.
	CanRecheck, Rechecking bool
	RecheckNote            string
}

// CheckRow is one health check as the window shows it.
type CheckRow struct {
	Title       string // "Hybrid Connection Manager: Offline"
	State       health.State
	Since       string // "since 09:12", "since 2 Dec 17:40"; empty when unknown
	Detail, Fix string
}

// TextRechecking is shown while the agent runs its checks again.
const TextRechecking = "Checking again…"

// LabelRecheck is the Status window's button that runs the agent's checks now.
const LabelRecheck = "Re-check now"

// StatusAt is when the last Status arrived (zero: never).
func (t *Tray) StatusAt() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statusAt
}

// SinceText is when a state began, as the CLI's doctor writes it: the time alone
// today, the day and time before.
func SinceText(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(now.Location())
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return "since " + t.Format("15:04")
	}
	return "since " + t.Format("2 Jan 15:04")
}

func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	t = t.In(now.Location())
	ago := now.Sub(t).Round(time.Minute)
	at := t.Format("2 Jan 2006 15:04")
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		at = "today " + t.Format("15:04")
	}
	switch {
	case ago < time.Minute:
		return at + " (just now)"
	case ago < time.Hour:
		return fmt.Sprintf("%s (%d min ago)", at, int(ago.Minutes()))
	}
	return at
}

// StatusView builds the Status window's content at time now.
func (t *Tray) StatusView(now time.Time) StatusView {
	v := t.View()
	t.mu.Lock()
	statusAt, lostAt, rechecking, recheckErr := t.statusAt, t.lostAt, t.rechecking, t.recheckErr
	t.mu.Unlock()
	st := v.Status
	c := st.Counts
	sv := StatusView{Icon: v.Icon, Verdict: v.Sentence, State: StateLabel(st.Health.State),
		Queue: fmt.Sprintf("%d waiting, %d uploading, %d not saved, %d unassigned, %d sent today",
			c.Queued, c.Uploading, c.Parked, c.Unassigned, c.SentToday),
		LastUpload: when(st.LastUpload, now),
		CanRecheck: v.Connected && !rechecking, Rechecking: rechecking, RecheckNote: recheckErr,
	}
	if rechecking {
		sv.RecheckNote = TextRechecking
	}
	if !v.Connected {
		sv.State = "Agent not answering"
		switch {
		case statusAt.IsZero():
			sv.Stale = "The ClinicPro agent has not answered since this tray started, so nothing below has been checked."
		default:
			sv.Stale = fmt.Sprintf("Not up to date: the ClinicPro agent has not answered %s. What follows is what it reported at %s.",
				SinceText(lostAt, now), statusAt.In(now.Location()).Format("15:04:05"))
		}
	}
	for _, ch := range st.Health.Checks {
		title := ch.Title
		if title == "" {
			title = ch.Name
		}
		row := CheckRow{Title: title + ": " + StateLabel(ch.State), State: ch.State, Since: SinceText(ch.Since, now), Detail: ch.Detail}
		if ch.State != health.OK {
			row.Fix = ch.Fix
		}
		sv.Checks = append(sv.Checks, row)
	}
	// What needs practice IT first: offline, then needs attention, then the rest.
	rank := map[health.State]int{health.Offline: 0, health.Degraded: 1, health.Unknown: 2, health.OK: 3}
	slices.SortStableFunc(sv.Checks, func(a, b CheckRow) int { return rank[a.State] - rank[b.State] })
	checked := "-"
	if !st.Health.At.IsZero() {
		checked = st.Health.At.In(now.Location()).Format("2 Jan 2006 15:04:05")
	}
	sv.Facts = [][2]string{
		{"Relay", orDash(st.Relay)},
		{"Facility", orDash(st.Facility)},
		{"Agent", orDash(st.Version)},
		{"Tray", version.Version},
		{"Checked", checked},
	}
	return sv
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Recheck asks the agent to run its checks now and shows the result; while it
// runs, the window says so and the button waits.
func (t *Tray) Recheck(ctx context.Context, agent localapi.Service, now func() time.Time) error {
	t.mu.Lock()
	if t.rechecking {
		t.mu.Unlock()
		return nil
	}
	t.rechecking, t.recheckErr = true, ""
	t.mu.Unlock()
	st, err := agent.Recheck(ctx)
	t.mu.Lock()
	t.rechecking = false
	if err != nil {
		t.recheckErr = "Re-check failed: " + Sentence(err)
	}
	t.mu.Unlock()
	if err == nil {
		t.SetStatus(st, now())
	}
	return err
}
