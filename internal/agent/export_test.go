package agent

import (
	"context"

	"github.com/clinicpro/medtech-images/internal/queue"
)

// ExpireSessions runs the idle-session sweep that Run does every minute.
var ExpireSessions = (*Agent).expireSessions

// OpenSessions counts the sessions a test's launches have opened.
func (a *Agent) OpenSessions() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions)
}

// StagedIDs lists the items staged in a capture session, straight from the queue.
func (a *Agent) StagedIDs(ctx context.Context, sessionID string) ([]string, error) {
	items, err := a.q.List(ctx, queue.StateStaged)
	var ids []string
	for _, it := range items {
		if it.Patient.SessionID == sessionID {
			ids = append(ids, it.ID)
		}
	}
	return ids, err
}
