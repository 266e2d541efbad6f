package localapi

import (
	"errors"
	"fmt"
)

// AgentServiceName is the Windows service whose process alone may serve the agent's
// named pipe (cli.ServiceName is the same name).
const AgentServiceName = "ClinicProAgent"

// ErrImpostor: something other than the agent service answers on the agent's pipe.
// Any interactive user can create a pipe of that name while the service is stopped
// (a delayed start gives them minutes); a tray that talked to it would hand over
// photos and launch tokens.
var ErrImpostor = errors.New("something other than the ClinicPro Agent service answers on its named pipe")

// ErrPipeTaken: the agent's pipe already exists when the agent starts, so another
// process (an older agent, or one posing as it) holds the name.
var ErrPipeTaken = errors.New("another process already serves the ClinicPro agent's named pipe")

// ServiceProcess is what the service manager says about the agent service.
type ServiceProcess struct {
	Installed bool
	PID       uint32 // 0 when not running
}

// checkAgentServer decides whether the process serving the agent's pipe is the agent
// service. Where the service is not installed (a developer's `clinicpro run`) there
// is nothing to pose as, and any server is accepted.
func checkAgentServer(serverPID uint32, svc ServiceProcess) error {
	switch {
	case !svc.Installed:
		return nil
	case svc.PID == 0:
		return fmt.Errorf("%w: the service is not running, yet process %d answers. Start the ClinicPro Agent service; if this persists, ask practice IT to find process %d", ErrImpostor, serverPID, serverPID)
	case svc.PID != serverPID:
		return fmt.Errorf("%w: process %d answers, but the service is process %d. Ask practice IT to find process %d", ErrImpostor, serverPID, svc.PID, serverPID)
	}
	return nil
}
