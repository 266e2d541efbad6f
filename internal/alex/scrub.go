package alex

import (
	"regexp"

	"github.com/clinicpro/medtech-images/internal/redact"
)

// opaqueID matches ALEX's 32-hex patient and resource ids, which ALEX may echo in
// diagnostics.
var opaqueID = regexp.MustCompile(`(?i)\b[0-9a-f]{32}\b`)

// scrub keeps NHIs and patient ids that ALEX or the network stack might echo out of
// error strings, and bounds their length.
func scrub(s string) string {
	if len(s) > 300 {
		s = s[:300]
	}
	return opaqueID.ReplaceAllString(redact.String(s), redact.Mask)
}
