package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/hcm"
	"github.com/clinicpro/medtech-images/internal/health"
)

var at = time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)

func report() health.Report {
	return health.Aggregate(at, []health.Check{
		{Name: "hcm.service", Title: "Hybrid Connection Manager", State: health.OK, Since: at.Add(-78 * time.Minute), Detail: "running", Critical: true},
		{Name: "hcm.tunnel", Title: "Azure Relay tunnel", State: health.Offline, Since: at.Add(-2 * time.Minute), Critical: true,
			Detail: "The Hybrid Connection Manager has no connection to Azure Relay on port 443.", Fix: hcm.FixTunnelDown},
		{Name: "clock", Title: "System clock", State: health.Unknown, Since: at, Detail: "Could not compare this PC's clock with the relay.", Fix: hcm.FixClockUnread},
	})
}

func TestRender(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, report(), time.UTC); err != nil {
		t.Fatal(err)
	}
	want := "✓ Hybrid Connection Manager: running (since 09:12)\n" +
		"✗ Azure Relay tunnel: The Hybrid Connection Manager has no connection to Azure Relay on port 443 (since 10:28)\n" +
		"    Fix: " + hcm.FixTunnelDown + "\n" +
		"? System clock: Could not compare this PC's clock with the relay\n" +
		"    Fix: " + hcm.FixClockUnread + "\n" +
		"\nOverall: offline. The Hybrid Connection Manager has no connection to Azure Relay on port 443. " + hcm.FixTunnelDown + "\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	r := report()
	r.Checks[0].Since = at.Add(-26 * time.Hour)
	b.Reset()
	Render(&b, r, time.UTC)
	if !strings.Contains(b.String(), "(since 26 Nov 08:30)") {
		t.Fatalf("older since: %s", b.String())
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, report()); err != nil {
		t.Fatal(err)
	}
	var back health.Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.State != health.Offline || len(back.Checks) != 3 || back.Checks[1].Fix != hcm.FixTunnelDown {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestRunBoundsSlowProbes(t *testing.T) {
	fast := Probe{Name: "fast", Run: func(context.Context) []health.Check {
		return []health.Check{{Name: "fast", State: health.OK, Detail: "fine"}}
	}}
	release := make(chan struct{})
	defer close(release)
	stuck := Probe{Name: "relay.reachable", Title: "ClinicPro relay", Run: func(ctx context.Context) []health.Check {
		<-release // ignores ctx, like a misbehaving check
		return nil
	}}
	r := Run(context.Background(), at, 2*time.Second, fast, stuck)
	if len(r.Checks) != 2 || r.Checks[0].Name != "fast" || r.Checks[1].Name != "relay.reachable" || r.Checks[1].State != health.Unknown || r.Checks[1].Fix != FixTimeout {
		t.Fatalf("%+v", r.Checks)
	}
	if r.Checks[0].Since != at {
		t.Fatalf("since not stamped: %v", r.Checks[0].Since)
	}
}

func TestRing(t *testing.T) {
	r := NewRing(3)
	r.Write([]byte("a\nb\n"))
	r.Write([]byte("c\nd"))
	r.Write([]byte("\ne\n"))
	if got := strings.Join(r.Lines(), ","); got != "c,d,e" {
		t.Fatalf("lines %q", got)
	}
}
