// Package peer asks the operating system who is at the other end of a local
// connection: the Windows session and user (and process) of a named-pipe or loopback
// TCP peer, or the uid of a unix socket peer. The agent uses it to route a launch to
// the session it came from; the tray and the CLI use it to check that what answers
// on a pipe is the process it claims to be.
package peer

import (
	"fmt"
	"net"
)

// Peer is a local process as the OS reports it.
type Peer struct {
	// User is a Windows SID (S-1-5-21-…) or, on Unix, "uid:1000".
	User string
	// Session is the Windows session (each Remote Desktop sign-in has its own); 0 on Unix.
	Session uint32
	// PID is the process id when the OS reports it; ids are reused, so it proves
	// nothing by itself after the process may have ended.
	PID uint32
}

// Known reports whether the OS told us who the peer is.
func (p Peer) Known() bool { return p.User != "" }

// Same reports whether q is the same user in the same session as p. An unknown peer
// is never the same as anyone.
func (p Peer) Same(q Peer) bool { return p.Known() && p.User == q.User && p.Session == q.Session }

// String names the peer for logs: a SID or uid and a session number are not patient data.
func (p Peer) String() string {
	if !p.Known() {
		return "unknown caller"
	}
	return fmt.Sprintf("%s in session %d", p.User, p.Session)
}

// Self is this process.
func Self() (Peer, error) { return self() }

// Of returns the process at the other end of c, from either side: a server learns
// who connected, a client learns who answered. Named pipes, unix sockets and loopback
// TCP are supported.
func Of(c net.Conn) (Peer, error) { return of(c) }
