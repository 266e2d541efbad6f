package health

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Probe is one entry of the agent's check catalogue (internal/health/checks builds
// it): a group of checks made together. Name and Title label the Unknown check that
// stands in when Run does not finish in time.
type Probe struct {
	Name  string
	Title string
	Run   func(ctx context.Context) []Check
	// Costly probes do I/O (the relay over the network, the disk, the queue's
	// database): the agent runs them on its health interval and keeps the result,
	// and reads the others at every status, which the tray asks for often.
	Costly bool
}

// FixTimeout is the fix of a probe that did not finish in time.
const FixTimeout = "Run `clinicpro doctor` again; if this repeats, send a diagnostics bundle (`clinicpro doctor --bundle FILE.zip`) to ClinicPro support."

// RunProbes runs every probe at once, each bounded by timeout, and returns each
// probe's checks, in probe order. A probe that overruns is reported as Unknown rather than
// holding up the rest (a network share or a relay that stopped answering).
func RunProbes(ctx context.Context, timeout time.Duration, probes []Probe) [][]Check {
	results := make([][]Check, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			done := make(chan []Check, 1)
			go func() { done <- p.Run(pctx) }()
			select {
			case cs := <-done:
				results[i] = cs
			case <-pctx.Done():
				results[i] = []Check{{Name: p.Name, Title: p.Title, State: Unknown,
					Detail: fmt.Sprintf("Did not finish within %s.", timeout), Fix: FixTimeout}}
			}
		}()
	}
	wg.Wait()
	return results
}
