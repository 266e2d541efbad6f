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
	if err := RenderStatus(&b, s, time.UTC); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"ClinicPro Images 1.2.0: offline\n",
		"Relay https://relay.example.test, facility F2N060-E\n",
		"Uploads running: 2 queued, 0 uploading, 1 need attention, 0 unassigned, 14 sent today (last at 10:25)\n",
		"✓ Hybrid Connection Manager: running (since 09:12)\n",
		"Overall: offline.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	s.Enrolled, s.Paused = false, true
	b.Reset()
	RenderStatus(&b, s, time.UTC)
	if !strings.Contains(b.String(), "Not enrolled: run `clinicpro enrol`") || !strings.Contains(b.String(), "Uploads paused") {
		t.Errorf("not enrolled, paused:\n%s", b.String())
	}
}
