package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/hcm"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/localapi"
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

// TestExamine: with the agent up, its own checks after agent.running; with it down,
// the checkup's, and the checkup is not run while the agent answers.
func TestExamine(t *testing.T) {
	ctx := context.Background()
	ran := 0
	checkup := func(context.Context) []health.Check {
		ran++
		return []health.Check{{Name: checks.NameEnrolled, State: health.Offline, Critical: true, Detail: "not enrolled"}}
	}
	up := fakeAgent{st: localapi.Status{Health: report()}}
	r, isUp := Examine(ctx, up, checkup)
	if !isUp || ran != 0 || len(r.Checks) != 4 || r.Checks[0].Name != checks.NameAgent || r.Checks[0].State != health.OK ||
		r.Checks[2].Name != "hcm.tunnel" || r.State != health.Offline {
		t.Fatalf("agent up: %v %d %+v", isUp, ran, r)
	}
	r, isUp = Examine(ctx, fakeAgent{err: localapi.ErrAgentDown}, checkup)
	if isUp || ran != 1 || len(r.Checks) != 2 || r.Checks[0].State != health.Offline || r.Checks[0].Fix != checks.FixAgent ||
		r.Checks[1].Name != checks.NameEnrolled || r.Checks[1].Since.IsZero() {
		t.Fatalf("agent down: %v %d %+v", isUp, ran, r)
	}
}

type fakeAgent struct {
	st  localapi.Status
	err error
}

func (f fakeAgent) Status(context.Context) (localapi.Status, error) { return f.st, f.err }
