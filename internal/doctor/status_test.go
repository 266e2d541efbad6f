package doctor

import (
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

func TestRenderStatus(t *testing.T) {
	s := localapi.Status{Version: "1.2.0", Relay: "https://relay.example.test", Facility: "F2N060-E", Enrolled: true,
		Counts:     localapi.Counts{Queued: 2, Parked: 1, SentToday: 14},
		LastUpload: at.Add(-5 * time.Minute), Health: report()}
	var b strings.Builder
	RenderStatus(&b, s)
	out := b.String()
	for _, want := range []string{
		"ClinicPro agent  1.2.0\n",
		"Overall          OFFLINE: The Hybrid Connection Manager has no connection",
		"Relay            https://relay.example.test, facility F2N060-E\n",
		"Queue            2 waiting, 0 uploading, 14 sent today\n",
		"Parked           1 (see `clinicpro queue list`)\n",
		"HCM              ok: running\n",
		"Needs attention:\n  ✗ Azure Relay tunnel: The Hybrid Connection Manager has no connection to Azure Relay on port 443.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "System clock") {
		t.Errorf("an unknown check is listed as needing attention:\n%s", out)
	}
	s.Enrolled, s.Paused, s.Health.Checks = false, true, nil
	b.Reset()
	RenderStatus(&b, s)
	if !strings.Contains(b.String(), "not enrolled (run `clinicpro enrol`)") || !strings.Contains(b.String(), "PAUSED") ||
		!strings.Contains(b.String(), "not monitored on this PC") {
		t.Errorf("not enrolled, paused:\n%s", b.String())
	}
}
