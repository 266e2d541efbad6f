package daemon

import "testing"

func TestLaunchListenerMustBeLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.168.1.5:80", "example.com:80", "nonsense"} {
		if l, err := listenLoopback(addr); err == nil {
			l.Close()
			t.Errorf("%s accepted", addr)
		}
	}
	l, err := listenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}
