package daemon

import (
	"strings"
	"testing"
)

// --listen tcp:HOST:PORT serves the local API on TCP (tests and tools), on
// loopback only: the API has no authentication of its own.
func TestListenAPIOverTCPIsLoopbackOnly(t *testing.T) {
	l, err := listenAPI("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if a := l.Addr(); a.Network() != "tcp" || !strings.HasPrefix(a.String(), "127.0.0.1:") {
		t.Errorf("listening on %s %s", a.Network(), a)
	}
	l.Close()
	for _, addr := range []string{"tcp:0.0.0.0:0", "tcp:192.0.2.1:0", "tcp:localhost"} {
		if l, err := listenAPI(addr); err == nil {
			l.Close()
			t.Errorf("%s: listening, want refused", addr)
		}
	}
}
