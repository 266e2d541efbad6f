package alex

import "github.com/clinicpro/medtech-images/internal/redact"

// scrub keeps NHIs that ALEX or the network stack might echo out of error strings.
func scrub(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	return redact.String(s)
}
