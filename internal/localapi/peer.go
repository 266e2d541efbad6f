package localapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/clinicpro/medtech-images/internal/peer"
)

// Peer is the local process at the other end of a connection, as the operating system
// reports it. On a shared PC or a Remote Desktop server several GPs' trays talk to the
// one agent at once; the peer is how a launch reaches only the tray of the Windows
// session and user it came from.
type Peer = peer.Peer

type peerKey struct{}

// WithPeer returns ctx carrying p: the server does this for every connection, tests
// do it to act as a given user.
func WithPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerFrom returns the caller the server identified for this request, if it could.
func PeerFrom(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok && p.Known()
}

// Self is this process as a peer: what the agent would see if this process called it.
func Self() (Peer, error) { return peer.Self() }

// ConnContext is the http.Server hook that asks the OS who opened each connection
// (named pipe client, unix socket credentials, or the owner of a loopback TCP
// connection) and puts the answer in every request's context. A connection whose
// owner cannot be found carries no peer, and whatever needs one refuses it.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if p, err := peer.Of(c); err == nil && p.Known() {
		return WithPeer(ctx, p)
	}
	return ctx
}

// NewServer is the http.Server for the local API and the loopback launch page: it
// identifies each connection's peer, bounds header reads (event streams and uploads
// must be allowed to run long, so there is no overall timeout), and keeps net/http's
// own error log quiet, because launch URLs carry Medtech's tokens.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       ConnContext,
		ErrorLog:          slog.NewLogLogger(slog.DiscardHandler, slog.LevelError),
	}
}

// loopbackHost reports whether a Host header names a loopback IP literal (with or
// without a port). Names, even "localhost", are refused: a web page can point any
// name it controls at 127.0.0.1 (DNS rebinding), never a literal.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}

// overTCP reports whether the request arrived on a TCP connection (tests, tools and
// the launch page) rather than the named pipe or unix socket.
func overTCP(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return ok && a.Network() == "tcp"
}
