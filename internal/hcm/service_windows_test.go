//go:build windows

package hcm

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/clinicpro/medtech-images/internal/health"
)

const testSvcFlag = "-hcm.testsvc"

// runAsService makes the test binary a tiny Windows service when the service
// manager starts it with testSvcFlag: it holds a TCP connection to the address
// after the flag, as HCM holds one to Azure Relay, until it is told to stop.
func runAsService() bool {
	if len(os.Args) < 3 || os.Args[1] != testSvcFlag {
		return false
	}
	_ = svc.Run("", stubHCM{addr: os.Args[2]})
	return true
}

type stubHCM struct{ addr string }

func (s stubHCM) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	conn, err := net.Dial("tcp", s.addr)
	if err == nil {
		defer conn.Close()
	}
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for r := range req {
		switch r.Cmd {
		case svc.Interrogate:
			status <- r.CurrentStatus
		case svc.Stop, svc.Shutdown:
			status <- svc.Status{State: svc.StopPending}
			return false, 0
		}
	}
	return false, 0
}

// TestSCMUnderWine installs a real service with `sc create`, finds it by display
// name, and drives it through start, stop and a policy restart. It changes the
// machine's services, so it runs only where asked (the Wine prefix of make
// test-wine) and needs administrator rights.
func TestSCMUnderWine(t *testing.T) {
	if os.Getenv("CLINICPRO_WINE") != "1" {
		t.Skip("set CLINICPRO_WINE=1 to install a test service (make test-wine does)")
	}
	ln := holdingListener(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const name = "ClinicProTestHCM"
	sc := func(args ...string) string {
		out, err := exec.Command("sc", args...).CombinedOutput()
		t.Logf("sc %s: %v %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		return string(out)
	}
	sc("delete", name)
	var scm SCM
	ctx := context.Background()
	if st, err := scm.State(ctx, DefaultServiceName); err != nil || st.State != NotInstalled {
		t.Fatalf("before install: %+v %v", st, err)
	}
	sc("create", name, "binPath=", exe+" "+testSvcFlag+" "+ln.Addr().String(),
		"DisplayName=", "Azure Hybrid Connection Manager Service", "start=", "demand")
	t.Cleanup(func() { stopService(t, name); sc("delete", name) })

	st, err := scm.State(ctx, DefaultServiceName)
	if err != nil || st.State != Stopped || st.Name != name || st.DisplayName != "Azure Hybrid Connection Manager Service" {
		t.Fatalf("found by display name: %+v %v", st, err)
	}

	port := ln.Addr().(*net.TCPAddr).Port
	m := New(Config{TunnelPort: port, Recovery: Policy{Enabled: true, Grace: 0, MaxPerHour: 5}}, scm, nil, &recEvents{}, quiet())
	var cs []health.Check
	waitFor(t, "the policy to start the service", func() bool {
		cs = m.Poll(ctx)
		return find(t, cs, CheckService).State == health.OK
	})
	st, _ = scm.State(ctx, DefaultServiceName)
	if st.PID == 0 || st.PID == os.Getpid() {
		t.Fatalf("running service has pid %d", st.PID)
	}
	waitFor(t, "the service's tunnel", func() bool {
		return find(t, m.Poll(ctx), CheckTunnel).State == health.OK
	})

	seen := map[ServiceState]bool{}
	m.rec.p.Enabled = false
	stopService(t, name)
	waitFor(t, "the service to stop", func() bool {
		s, _ := scm.State(ctx, DefaultServiceName)
		seen[s.State] = true
		return s.State == Stopped
	})
	if c := find(t, m.Poll(ctx), CheckService); c.State != health.Offline || c.Fix != FixServiceStopped {
		t.Fatalf("stopped: %+v", c)
	}
	m.rec.p.Enabled = true
	waitFor(t, "a restart by policy", func() bool {
		return find(t, m.Poll(ctx), CheckService).State == health.OK
	})
	t.Logf("states seen while stopping: %v", seen)
}

// stopService sends Stop with the rights an administrator has; the monitor itself
// never stops services.
func stopService(t *testing.T, name string) {
	m, err := mgr.Connect()
	if err != nil {
		t.Logf("connect: %v", err)
		return
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return
	}
	defer s.Close()
	if _, err := s.Control(svc.Stop); err != nil && err != windows.ERROR_SERVICE_NOT_ACTIVE {
		t.Logf("stop %s: %v", name, err)
	}
}

func TestKeepAwakeOnOwnThread(t *testing.T) {
	k, err := NewKeepAwake()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := k.Hold(); err != nil {
			t.Fatalf("hold: %v", err)
		}
		if err := k.Release(); err != nil {
			t.Fatalf("release: %v", err)
		}
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
}
