// Package eventlog writes the agent's state changes (HCM stopped or restarted,
// Medtech unreachable and back) to the Windows Event Log, where practices' RMM and
// monitoring tools look. Elsewhere the same entries go to slog.
package eventlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/redact"
)

// Source is the event source name registered by the installer.
const Source = "ClinicPro Images"

// Event IDs, stable so monitoring rules can match them. They stay within 1-1000:
// the source's message file is EventCreate.exe, whose message table holds exactly
// those ids as "%1", so Event Viewer shows our text instead of "The description for
// Event ID ... cannot be found".
const (
	IDCheckOK        uint32 = 100 // a check is healthy again
	IDCheckDegraded  uint32 = 101
	IDCheckOffline   uint32 = 102
	IDServiceRestart uint32 = 110 // the agent started a stopped HCM service
	IDRestartFailed  uint32 = 111
	IDSleep          uint32 = 120 // the PC slept or was suspended
	IDStartFailed    uint32 = 200 // the agent could not start; the entry says why and what to do
	IDDataRefused    uint32 = 201 // the data folder, or a file in it, is owned by someone else
	IDDataRepaired   uint32 = 202 // the data folder's permissions had been loosened and were restored
	IDPipeTaken      uint32 = 203 // another process holds the agent's named pipe
	IDTrayNoOpenGL   uint32 = 300 // the tray cannot draw its windows (no OpenGL 2.1, e.g. Remote Desktop without a GPU)
)

// IDs lists every event id, for the test that keeps them in the message file's range.
var IDs = []uint32{IDCheckOK, IDCheckDegraded, IDCheckOffline, IDServiceRestart, IDRestartFailed, IDSleep,
	IDStartFailed, IDDataRefused, IDDataRepaired, IDPipeTaken, IDTrayNoOpenGL}

// MaxID is the highest id EventCreate.exe's message table covers.
const MaxID = 1000

// Writer is an event log. *eventlog.Log from golang.org/x/sys/windows/svc/eventlog
// satisfies it.
type Writer interface {
	Info(id uint32, msg string) error
	Warning(id uint32, msg string) error
	Error(id uint32, msg string) error
}

// Slog writes events to a logger: the event log of systems without one, and of
// tests.
type Slog struct{ Log *slog.Logger }

func (s Slog) write(l slog.Level, id uint32, msg string) error {
	s.Log.Log(context.Background(), l, msg, "event_id", id)
	return nil
}
func (s Slog) Info(id uint32, msg string) error    { return s.write(slog.LevelInfo, id, msg) }
func (s Slog) Warning(id uint32, msg string) error { return s.write(slog.LevelWarn, id, msg) }
func (s Slog) Error(id uint32, msg string) error   { return s.write(slog.LevelError, id, msg) }

// RecordChange writes one health change at the level its new state deserves. Text
// is scrubbed of anything NHI-shaped, as a backstop.
func RecordChange(w Writer, c health.Change) error {
	title := c.Title
	if title == "" {
		title = c.Name
	}
	msg := redact.String(fmt.Sprintf("%s: %s (was %s). %s %s", title, c.To, c.From, c.Detail, c.Fix))
	switch c.To {
	case health.OK:
		return w.Info(IDCheckOK, msg)
	case health.Offline:
		return w.Error(IDCheckOffline, msg)
	case health.Unknown:
		return nil
	}
	return w.Warning(IDCheckDegraded, msg)
}
