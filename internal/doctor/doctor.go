// Package doctor runs health checks live and presents them to practice IT: ✓/✗
// lines with the fix for `clinicpro doctor`, JSON for RMM tools, and the diagnostics
// bundle for support. The exit code is the CLI's (internal/cli's one table).
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
)

// FixTimeout is the fix shown for a probe that did not finish in time.
const FixTimeout = "Run `clinicpro doctor` again; if this repeats, send a diagnostics bundle (`clinicpro doctor --bundle FILE.zip`) to ClinicPro support."

// Probe is one group of checks to run. Name and Title label the Unknown result
// that stands in when the probe does not finish in time.
type Probe struct {
	Name  string
	Title string
	Run   func(ctx context.Context) []health.Check
	// Logged marks probes whose changes are already written to the event log by
	// their producer (the HCM monitor), so Live does not write them twice.
	Logged bool
}

// Run runs every probe at once, each bounded by timeout, and aggregates the results
// in probe order. A probe that overruns is reported as Unknown rather than holding
// up the rest. Checks without a Since get now.
func Run(ctx context.Context, now time.Time, timeout time.Duration, probes ...Probe) health.Report {
	var all []health.Check
	for _, cs := range runProbes(ctx, timeout, probes) {
		all = append(all, cs...)
	}
	for i := range all {
		if all[i].Since.IsZero() {
			all[i].Since = now
		}
	}
	return health.Aggregate(now, all)
}

// runProbes returns each probe's checks, in probe order.
func runProbes(ctx context.Context, timeout time.Duration, probes []Probe) [][]health.Check {
	results := make([][]health.Check, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			done := make(chan []health.Check, 1)
			go func() { done <- p.Run(pctx) }()
			select {
			case cs := <-done:
				results[i] = cs
			case <-pctx.Done():
				results[i] = []health.Check{{Name: p.Name, Title: p.Title, State: health.Unknown,
					Detail: fmt.Sprintf("Did not finish within %s.", timeout), Fix: FixTimeout}}
			}
		}()
	}
	wg.Wait()
	return results
}

// mark is the symbol in front of a check.
func mark(s health.State) string {
	switch s {
	case health.OK:
		return "✓"
	case health.Unknown:
		return "?"
	}
	return "✗"
}

// Render writes one line per check, the fix indented under each failure, and the
// overall state last. Times are shown in loc (the PC's local time).
func Render(w io.Writer, r health.Report, loc *time.Location) error {
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
			fmt.Fprintf(&b, " (since %s)", since(c.Since.In(loc), r.At.In(loc)))
		}
		b.WriteString("\n")
		if c.State != health.OK && c.Fix != "" {
			fmt.Fprintf(&b, "    Fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintf(&b, "\nOverall: %s. %s\n", r.State, r.Summary)
	_, err := io.WriteString(w, b.String())
	return err
}

func since(t, now time.Time) string {
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("2 Jan 15:04")
}

// WriteJSON writes the report as indented JSON (the --json form for RMM tools).
func WriteJSON(w io.Writer, r health.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
