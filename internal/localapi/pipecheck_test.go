package localapi

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckAgentServer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server uint32
		svc    ServiceProcess
		ok     bool
		says   string
	}{
		{"served by the service", 4120, ServiceProcess{Installed: true, PID: 4120}, true, ""},
		// A user created the pipe before the delayed-start service came up.
		{"service not running", 7312, ServiceProcess{Installed: true}, false, "not running, yet process 7312"},
		// A user added an instance next to the agent's (the old ACL allowed it).
		{"another process beside the service", 7312, ServiceProcess{Installed: true, PID: 4120}, false, "the service is process 4120"},
		{"no service installed (development)", 7312, ServiceProcess{}, true, ""},
	} {
		err := checkAgentServer(tc.server, tc.svc)
		if tc.ok != (err == nil) {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err != nil && (!errors.Is(err, ErrImpostor) || !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("%s: err = %v, want ErrImpostor saying %q", tc.name, err, tc.says)
		}
	}
}
