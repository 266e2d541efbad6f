package agent

// ExpireSessions runs the idle-session sweep that Run does every minute.
var ExpireSessions = (*Agent).expireSessions

// OpenSessions counts the sessions a test's launches have opened.
func (a *Agent) OpenSessions() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions)
}
