package localapi

import (
	"net"
	"net/http"
)

// Serve answers the local API on l until l is closed, with NewServer's settings.
func Serve(l net.Listener, h http.Handler) error {
	return NewServer(h).Serve(l)
}
