package doctor

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

// RenderStatus writes `clinicpro status`: one screen with the agent's state, the
// queue and every check (the same lines as doctor, from the agent's last round).
func RenderStatus(w io.Writer, s localapi.Status, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ClinicPro Images %s: %s\n", s.Version, s.Health.State)
	switch {
	case !s.Enrolled:
		b.WriteString("Not enrolled: run `clinicpro enrol` with the code from ClinicPro support.\n")
	default:
		fmt.Fprintf(&b, "Relay %s, facility %s\n", s.Relay, s.Facility)
	}
	up := "running"
	if s.Paused {
		up = "paused"
	}
	fmt.Fprintf(&b, "Uploads %s: %d queued, %d uploading, %d need attention, %d unassigned, %d sent today",
		up, s.Counts.Queued, s.Counts.Uploading, s.Counts.Parked, s.Counts.Unassigned, s.Counts.SentToday)
	if !s.LastUpload.IsZero() {
		fmt.Fprintf(&b, " (last at %s)", since(s.LastUpload.In(loc), s.Health.At.In(loc)))
	}
	b.WriteString("\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return Render(w, s.Health, loc)
}
