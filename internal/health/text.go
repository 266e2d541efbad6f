package health

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// mark is the symbol in front of a check.
func mark(s State) string {
	switch s {
	case OK:
		return "✓"
	case Unknown:
		return "?"
	}
	return "✗"
}

// WriteText writes the report as practice IT reads it (`clinicpro doctor`, `clinicpro
// status` and the diagnostics bundle's health.txt): one line per check, the fix
// indented under each failure, and the overall state last. Times are shown in loc
// (the PC's local time when nil).
func WriteText(w io.Writer, r Report, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	var b strings.Builder
	for _, c := range r.Checks {
		title := c.Title
		if title == "" {
			title = c.Name
		}
		fmt.Fprintf(&b, "%s %s: %s", mark(c.State), title, strings.TrimSuffix(c.Detail, "."))
		if !c.Since.IsZero() && !c.Since.Equal(r.At) {
			fmt.Fprintf(&b, " (since %s)", shortTime(c.Since.In(loc), r.At.In(loc)))
		}
		b.WriteString("\n")
		if c.State != OK && c.Fix != "" {
			fmt.Fprintf(&b, "    Fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintf(&b, "\nOverall: %s. %s\n", r.State, r.Summary)
	_, err := io.WriteString(w, b.String())
	return err
}

// shortTime is t as a person reads it beside now: the time alone on the same day, with
// the date otherwise.
func shortTime(t, now time.Time) string {
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("2 Jan 15:04")
}
