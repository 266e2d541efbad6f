package viewmodel

import (
	"fmt"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/version"
)

// StateLabel is how a health state reads in the Status window.
func StateLabel(s health.State) string {
	switch s {
	case health.OK:
		return "OK"
	case health.Degraded:
		return "Needs attention"
	case health.Offline:
		return "Offline"
	}
	return "Not checked yet"
}

// DiagnosticsSummary is the text Copy diagnostics puts on the clipboard: what practice
// IT pastes into an email to support. It holds no patient data: only versions,
// counts and health checks, which never carry identifiers.
func DiagnosticsSummary(st localapi.Status, bundlePath string, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ClinicPro Images diagnostics, %s\n", now.Format(time.RFC3339))
	fmt.Fprintf(&b, "Tray %s, agent %s\n", version.Version, st.Version)
	fmt.Fprintf(&b, "Relay: %s\nFacility: %s\nEnrolled: %v, uploads paused: %v\n", st.Relay, st.Facility, st.Enrolled, st.Paused)
	c := st.Counts
	fmt.Fprintf(&b, "Queue: %d queued, %d uploading, %d parked, %d unassigned, %d sent today\n",
		c.Queued, c.Uploading, c.Parked, c.Unassigned, c.SentToday)
	if !st.LastUpload.IsZero() {
		fmt.Fprintf(&b, "Last upload: %s\n", st.LastUpload.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "Health: %s: %s\n", StateLabel(st.Health.State), st.Health.Summary)
	for _, ch := range st.Health.Checks {
		fmt.Fprintf(&b, "- %s: %s. %s", ch.Title, StateLabel(ch.State), ch.Detail)
		if ch.Fix != "" && ch.State != health.OK {
			fmt.Fprintf(&b, " Fix: %s", ch.Fix)
		}
		b.WriteString("\n")
	}
	if bundlePath != "" {
		fmt.Fprintf(&b, "Diagnostics bundle: %s\n", bundlePath)
	}
	return b.String()
}
