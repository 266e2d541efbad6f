package hcm

import (
	"strings"

	"github.com/clinicpro/medtech-images/internal/config"
)

// FromConfig builds the Monitor's Config from the agent's configuration and the
// relay this PC uses (relayURL, empty when not enrolled), whose /healthz the clock
// is compared with. ok is false when this PC is not the HCM host, in which case the
// agent runs no Monitor (the relay's facility check still says when the practice is
// offline).
func FromConfig(c *config.Config, relayURL string) (cfg Config, ok bool) {
	if !c.HCM.Host {
		return Config{}, false
	}
	cfg.ServiceName = c.HCM.ServiceName
	cfg.Interval = c.HCM.PollInterval.D()
	cfg.TunnelPort = c.HCM.TunnelPort
	cfg.Recovery = defaultPolicy()
	cfg.Recovery.Enabled = c.HCM.Recovery != config.RecoveryReport
	if g := c.HCM.RestartGrace.D(); g > 0 {
		cfg.Recovery.Grace = g
	}
	if c.HCM.KeepAwake {
		cfg.ClinicHours = c.ClinicHours
	}
	if relayURL != "" {
		// /healthz needs no credentials and, like every answer, carries Date.
		cfg.ClockURL = strings.TrimRight(relayURL, "/") + "/healthz"
	}
	return cfg, true
}

// ServiceFromConfig is the ServiceMonitor the configuration asks for: the stand-in
// process when standin_command is set (development and the demo), otherwise the
// OS's service manager.
func ServiceFromConfig(c *config.Config) ServiceMonitor {
	if len(c.HCM.StandInCommand) > 0 {
		return &StandIn{ServiceName: c.HCM.ServiceName, PIDFile: c.HCM.StandInPIDFile, Command: c.HCM.StandInCommand}
	}
	return newSystemMonitor()
}
