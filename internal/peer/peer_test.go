package peer

import (
	"net"
	"runtime"
	"testing"
)

func TestSameNeedsUserAndSession(t *testing.T) {
	a := Peer{User: "S-1-5-21-1-2-3-1001", Session: 2}
	for _, tc := range []struct {
		q    Peer
		want bool
	}{
		{a, true},
		{Peer{User: a.User, Session: 2, PID: 99}, true},
		{Peer{User: a.User, Session: 3}, false},
		{Peer{User: "S-1-5-21-1-2-3-1002", Session: 2}, false},
		{Peer{}, false},
	} {
		if got := a.Same(tc.q); got != tc.want {
			t.Errorf("%v.Same(%v) = %v", a, tc.q, got)
		}
	}
	if (Peer{}).Same(Peer{}) {
		t.Error("two unknown peers are the same")
	}
}

// TestBothEndsOfLoopbackTCP: the server learns who connected and the client learns who
// answered; here both are this process. On Windows only the server's view is used (the
// agent identifying a browser); Wine reports no owner for accepted sockets, so the
// client's view is checked on Linux only.
func TestBothEndsOfLoopbackTCP(t *testing.T) {
	me, err := Self()
	if err != nil || !me.Known() {
		t.Fatalf("Self = %+v, %v", me, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := l.Accept(); accepted <- c }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-accepted
	defer s.Close()
	ends := map[string]net.Conn{"server side": s}
	if runtime.GOOS == "linux" {
		ends["client side"] = c
	}
	for name, conn := range ends {
		p, err := Of(conn)
		if err != nil || !p.Same(me) {
			t.Errorf("%s: %+v, %v; want %+v", name, p, err, me)
		}
	}
}
