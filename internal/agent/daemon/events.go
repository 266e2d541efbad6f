package daemon

import (
	"errors"

	"github.com/clinicpro/medtech-images/internal/datadir"
	"github.com/clinicpro/medtech-images/internal/eventlog"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/redact"
)

// reportEvent writes one entry to the Windows Event Log under the registered source
// (elsewhere: to the default logger). Failures to write are ignored: the entry is a
// copy of what the agent's log already says.
func reportEvent(id uint32, isError bool, msg string) {
	// Paths can carry a file name with an NHI in it (a watched folder inside the data
	// folder, a planted file): scrubbed like every other log line.
	msg = redact.String(msg)
	w, closeFn, err := eventlog.Open()
	if err != nil {
		return
	}
	defer closeFn()
	if isError {
		_ = w.Error(id, msg)
	} else {
		_ = w.Warning(id, msg)
	}
}

// ReportStartFailure puts the reason the agent could not start where practice IT and
// their monitoring look: the Application log, with an id of its own for a data
// folder someone else owns and for a local API address another process holds.
func ReportStartFailure(err error) {
	id := eventlog.IDStartFailed
	switch {
	case errors.Is(err, datadir.ErrUntrusted):
		id = eventlog.IDDataRefused
	case errors.Is(err, localapi.ErrPipeTaken):
		id = eventlog.IDPipeTaken
	}
	reportEvent(id, true, "ClinicPro Agent could not start: "+err.Error())
}
