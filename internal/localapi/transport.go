package localapi

import (
	"net"
	"net/http"
	"time"
)

// Serve answers the local API on l until l is closed. The timeouts are for headers
// only: the event stream and large uploads must be allowed to run long.
func Serve(l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(l)
}
