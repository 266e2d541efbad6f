package peer

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestBothEndsOfUnixSocket(t *testing.T) {
	me, _ := Self()
	d, err := os.MkdirTemp("", "peer")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(d)
	l, err := net.Listen("unix", filepath.Join(d, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := l.Accept(); accepted <- c }()
	c, err := net.Dial("unix", filepath.Join(d, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-accepted
	defer s.Close()
	for name, conn := range map[string]net.Conn{"server side": s, "client side": c} {
		p, err := Of(conn)
		if err != nil || !p.Same(me) || p.PID != uint32(os.Getpid()) {
			t.Errorf("%s: %+v, %v; want %+v", name, p, err, me)
		}
	}
}

func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000000000000000000001000000:0016": "[::1]:22",
		"0000000000000000FFFF00000100007F:A0F1": "[::ffff:127.0.0.1]:41201",
	} {
		got, err := parseProcAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "zz00007F:1F90", "0100007F:zzzz", "01007F:0016"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q) accepted", bad)
		}
	}
}
