package health

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

var at = time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)

func report() Report {
	return Aggregate(at, []Check{
		{Name: "hcm.service", Title: "Hybrid Connection Manager", State: OK, Since: at.Add(-78 * time.Minute), Detail: "running", Critical: true},
		{Name: "hcm.tunnel", Title: "Azure Relay tunnel", State: Offline, Since: at.Add(-2 * time.Minute), Critical: true,
			Detail: "The Hybrid Connection Manager has no connection to Azure Relay on port 443.", Fix: "Restart it."},
		{Name: "clock", Title: "System clock", State: Unknown, Since: at, Detail: "Could not compare this PC's clock with the relay.", Fix: "Check the relay."},
	})
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, report(), time.UTC); err != nil {
		t.Fatal(err)
	}
	want := "✓ Hybrid Connection Manager: running (since 09:12)\n" +
		"✗ Azure Relay tunnel: The Hybrid Connection Manager has no connection to Azure Relay on port 443 (since 10:28)\n" +
		"    Fix: Restart it.\n" +
		"? System clock: Could not compare this PC's clock with the relay\n" +
		"    Fix: Check the relay.\n" +
		"\nOverall: offline. The Hybrid Connection Manager has no connection to Azure Relay on port 443. Restart it.\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	r := report()
	r.Checks[0].Since = at.Add(-26 * time.Hour)
	b.Reset()
	WriteText(&b, r, time.UTC)
	if !strings.Contains(b.String(), "(since 26 Nov 08:30)") {
		t.Fatalf("older since: %s", b.String())
	}
}

// TestRunProbesBoundsSlowProbes: a probe that ignores its context is reported as
// Unknown, with its own name, when its time is up, and the others are not held up.
func TestRunProbesBoundsSlowProbes(t *testing.T) {
	fast := Probe{Name: "fast", Run: func(context.Context) []Check {
		return []Check{{Name: "fast", State: OK, Detail: "fine"}}
	}}
	release := make(chan struct{})
	defer close(release)
	stuck := Probe{Name: "relay.reachable", Title: "ClinicPro relay", Run: func(ctx context.Context) []Check {
		<-release // ignores ctx, like a misbehaving check
		return nil
	}}
	start := time.Now()
	r := RunProbes(context.Background(), 2*time.Second, []Probe{fast, stuck})
	if len(r) != 2 || len(r[0]) != 1 || r[0][0].Name != "fast" || len(r[1]) != 1 || r[1][0].Name != "relay.reachable" ||
		r[1][0].State != Unknown || r[1][0].Fix != FixTimeout {
		t.Fatalf("%+v", r)
	}
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("the stuck probe held the round for %v", d)
	}
}
