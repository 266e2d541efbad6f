//go:build windows

package cli

import (
	"errors"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
)

// runUnderSCM runs the agent under the service control manager when this process
// was started by it, and reports handled=false otherwise (a person typed
// `clinicpro service run`). kardianos/service decides that with
// svc.IsWindowsService, which inspects the parent process and session and is wrong
// under Wine (our CI's Windows), so the agent would never talk to the service
// manager there. Asking the dispatcher is the documented test: it fails with
// ERROR_FAILED_SERVICE_CONTROLLER_CONNECT in any process the SCM did not start.
func runUnderSCM(p *program) (handled bool, err error) {
	h := &scmHandler{p: p}
	err = svc.Run(ServiceName, h)
	if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
		return false, nil
	}
	if err == nil {
		err = h.err
	}
	return true, err
}

type scmHandler struct {
	p   *program
	err error
}

// startWait is how long the service manager (and Windows Installer's StartServices)
// should allow for the start: opening the queue after a crash can take a while.
const startWait = 60 * time.Second

func (h *scmHandler) Execute(_ []string, r <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending, WaitHint: uint32(startWait / time.Millisecond)}
	// Running is reported only when Start has the agent ready; a failed start ends
	// the service with an error, which StartServices sees and rolls back on.
	if err := h.p.Start(nil); err != nil {
		h.err = err
		return true, 1
	}
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for c := range r {
		switch c.Cmd {
		case svc.Interrogate:
			status <- c.CurrentStatus
		case svc.Stop, svc.Shutdown:
			status <- svc.Status{State: svc.StopPending, WaitHint: 30000}
			_ = h.p.Stop(nil)
			return false, 0
		}
	}
	return false, 0
}
