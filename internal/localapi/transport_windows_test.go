//go:build windows

package localapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/clinicpro/medtech-images/internal/peer"
)

func testPipe() string {
	b := make([]byte, 8)
	rand.Read(b)
	return `\\.\pipe\clinicpro-agent-test-` + hex.EncodeToString(b)
}

// squat creates a pipe instance as another program would, with plain synchronous
// calls (go-winio's overlapped I/O hangs under Wine).
func squat(t *testing.T, name string) windows.Handle {
	t.Helper()
	n, _ := windows.UTF16PtrFromString(name)
	h, err := windows.CreateNamedPipe(n, windows.PIPE_ACCESS_DUPLEX, windows.PIPE_TYPE_BYTE|windows.PIPE_WAIT, windows.PIPE_UNLIMITED_INSTANCES, 512, 512, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestListenRefusesAPreexistingPipe is the creation-order rule: a user who creates
// the agent's pipe before the (delayed-start) service does is refused, by name and
// process, rather than served beside.
func TestListenRefusesAPreexistingPipe(t *testing.T) {
	name := testPipe()
	h := squat(t, name)
	_, err := Listen(name)
	if !errors.Is(err, ErrPipeTaken) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", windows.GetCurrentProcessId())) {
		windows.CloseHandle(h)
		t.Fatalf("Listen over a squatted pipe: err = %v, want ErrPipeTaken naming this process", err)
	}
	windows.CloseHandle(h)
	l, err := Listen(name)
	if err != nil {
		t.Fatalf("Listen on a free name: %v", err)
	}
	l.Close()
}

// TestServerProcessCheck runs the client's check against the real service manager
// and a real pipe: the test process serves the pipe, which is not the process of any
// installed service, so posing as one is caught; the same pipe checked against no
// installed service passes (a developer's agent).
func TestServerProcessCheck(t *testing.T) {
	name := testPipe()
	srv := squat(t, name)
	defer windows.CloseHandle(srv)
	n, _ := windows.UTF16PtrFromString(name)
	cli, err := windows.CreateFile(n, clientAccess, 0, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(cli)
	server, err := peer.PipeOtherEnd(cli)
	if err != nil || server != windows.GetCurrentProcessId() {
		t.Fatalf("server process %d, %v", server, err)
	}
	// A service every Windows (and Wine) runs, standing in for the agent service.
	svc, err := serviceProcess("RpcSs")
	if err != nil || !svc.Installed || svc.PID == 0 {
		t.Skipf("RpcSs is not reported as a running service here: %+v, %v", svc, err)
	}
	if err := checkAgentServer(server, svc); !errors.Is(err, ErrImpostor) {
		t.Fatalf("a pipe served by this test passed as the service's: %v", err)
	}
	none, err := serviceProcess("ClinicProNoSuchService")
	if err != nil || none.Installed {
		t.Fatalf("missing service: %+v, %v", none, err)
	}
	if err := checkAgentServer(server, none); err != nil {
		t.Fatalf("no service installed: %v", err)
	}
}
