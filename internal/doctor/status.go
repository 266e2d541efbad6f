package doctor

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/clinicpro/medtech-images/internal/hcm"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
)

// RenderStatus writes `clinicpro status`: the agent, its relay, uploads, queue and
// HCM at a glance, and every failing check with its fix.
func RenderStatus(w io.Writer, st localapi.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	conn := "not enrolled (run `clinicpro enrol`)"
	if st.Enrolled {
		conn = fmt.Sprintf("%s, facility %s", st.Relay, st.Facility)
	}
	fmt.Fprintf(tw, "ClinicPro agent\t%s\n", st.Version)
	fmt.Fprintf(tw, "Overall\t%s: %s\n", strings.ToUpper(string(st.Health.State)), st.Health.Summary)
	fmt.Fprintf(tw, "Relay\t%s\n", conn)
	uploads := "running"
	if st.Paused {
		uploads = "PAUSED (resume in the tray menu)"
	}
	fmt.Fprintf(tw, "Uploads\t%s\n", uploads)
	fmt.Fprintf(tw, "Queue\t%d waiting, %d uploading, %d sent today\n", st.Counts.Queued, st.Counts.Uploading, st.Counts.SentToday)
	fmt.Fprintf(tw, "Parked\t%d%s\n", st.Counts.Parked, map[bool]string{true: " (see `clinicpro queue list`)", false: ""}[st.Counts.Parked > 0])
	fmt.Fprintf(tw, "Unassigned\t%d\n", st.Counts.Unassigned)
	last := "never"
	if !st.LastUpload.IsZero() {
		last = st.LastUpload.Local().Format("Mon 2 Jan 15:04")
	}
	fmt.Fprintf(tw, "Last upload\t%s\n", last)
	hcmLine := "not monitored on this PC"
	for _, ch := range st.Health.Checks {
		if ch.Name == hcm.CheckService {
			hcmLine = fmt.Sprintf("%s: %s", ch.State, ch.Detail)
		}
	}
	fmt.Fprintf(tw, "HCM\t%s\n", hcmLine)
	tw.Flush()
	var bad []health.Check
	for _, ch := range st.Health.Checks {
		if ch.State == health.Degraded || ch.State == health.Offline {
			bad = append(bad, ch)
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(w, "\nNeeds attention:")
		for _, ch := range bad {
			fmt.Fprintf(w, "  ✗ %s: %s\n", ch.Title, ch.Detail)
			if ch.Fix != "" {
				fmt.Fprintf(w, "    → %s\n", ch.Fix)
			}
		}
	}
}
