//go:build windows

package peer

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"golang.org/x/sys/windows"
)

// TestPipeOtherEnd uses plain synchronous pipe calls (go-winio's overlapped I/O hangs
// under Wine): the client learns which process serves the pipe, the server which
// process connected. Both are this test.
func TestPipeOtherEnd(t *testing.T) {
	b := make([]byte, 8)
	rand.Read(b)
	name, _ := windows.UTF16PtrFromString(`\\.\pipe\clinicpro-peer-test-` + hex.EncodeToString(b))
	srv, err := windows.CreateNamedPipe(name, windows.PIPE_ACCESS_DUPLEX, windows.PIPE_TYPE_BYTE|windows.PIPE_WAIT, 1, 512, 512, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(srv)
	cli, err := windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(cli)
	me := windows.GetCurrentProcessId()
	for side, h := range map[string]windows.Handle{"client": cli, "server": srv} {
		pid, err := PipeOtherEnd(h)
		if err != nil || pid != me {
			t.Errorf("%s side: pid %d, %v; want %d", side, pid, err, me)
		}
	}
	p, err := Process(me)
	self, _ := Self()
	if err != nil || !p.Same(self) || p.Session != self.Session {
		t.Fatalf("Process(self) = %+v, %v; Self = %+v", p, err, self)
	}
}
