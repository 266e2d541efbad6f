package agent

// ExpireSessions runs the idle-session sweep that Run does every minute.
var ExpireSessions = (*Agent).expireSessions
