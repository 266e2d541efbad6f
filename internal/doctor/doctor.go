// Package doctor presents the agent's health to practice IT: `clinicpro doctor`'s
// ✓/✗ lines with the fix under each failure, JSON for RMM tools, and `clinicpro
// status`'s screen. It sits above the agent: the checks are the agent's one
// catalogue (internal/health/checks), read from the running agent or, when it does
// not answer, run from here through internal/agent/daemon. The exit code is the
// CLI's (internal/cli's one table).
package doctor

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/localapi"
)

// Agent is what doctor asks of the running agent (the local API's client).
type Agent interface {
	Status(ctx context.Context) (localapi.Status, error)
}

// AskTimeout bounds the question to the agent: one that does not answer in time is
// treated as down, and the checks are run from here.
const AskTimeout = 20 * time.Second

// Examine is doctor's report: whether the agent answers, then the agent's own view
// of every check when it does (what the service sees is the truth), and otherwise
// the same catalogue run from here by checkup, so practice IT still gets a
// diagnosis. up says which it was.
func Examine(ctx context.Context, a Agent, checkup func(context.Context) []health.Check) (r health.Report, up bool) {
	var st localapi.Status
	actx, cancel := context.WithTimeout(ctx, AskTimeout)
	agentCheck := checks.Agent(actx, func(ctx context.Context) error {
		var err error
		st, err = a.Status(ctx)
		return err
	})
	cancel()
	up = agentCheck.State == health.OK
	cs := []health.Check{agentCheck}
	if up {
		cs = append(cs, st.Health.Checks...)
	} else {
		cs = append(cs, checkup(ctx)...)
	}
	now := time.Now()
	for i := range cs {
		if cs[i].Since.IsZero() {
			cs[i].Since = now
		}
	}
	return health.Aggregate(now, cs), up
}

// WriteJSON writes the report as indented JSON (the --json form for RMM tools).
func WriteJSON(w io.Writer, r health.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
