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

// Event IDs, stable so monitoring rules can match them.
const (
	IDCheckOK        uint32 = 1000 // a check is healthy again
	IDCheckDegraded  uint32 = 1001
	IDCheckOffline   uint32 = 1002
	IDServiceRestart uint32 = 1010 // the agent started a stopped HCM service
	IDRestartFailed  uint32 = 1011
	IDSleep          uint32 = 1020 // the PC slept or was suspended
)

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
