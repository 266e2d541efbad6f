package hcm

import (
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
)

func TestFromConfig(t *testing.T) {
	c, err := config.Parse([]byte(config.Example))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := FromConfig(c, ""); ok {
		t.Fatal("the example is not an HCM host, so no monitor")
	}
	c.HCM.Host = true
	cfg, ok := FromConfig(c, "https://relay.example.test/")
	if !ok || cfg.ServiceName != DefaultServiceName || !cfg.Recovery.Enabled || cfg.ClinicHours == nil || cfg.ClockURL != "https://relay.example.test/healthz" {
		t.Fatalf("%+v", cfg)
	}
	if cfg, _ := FromConfig(c, ""); cfg.ClockURL != "" {
		t.Fatalf("not enrolled, yet a clock URL: %q", cfg.ClockURL)
	}
	if _, sys := ServiceFromConfig(c).(*StandIn); sys {
		t.Fatal("no stand-in configured, yet the monitor would watch one")
	}
	c.HCM.PollInterval = config.Duration(3 * time.Second)
	c.HCM.RestartGrace = config.Duration(5 * time.Second)
	c.HCM.TunnelPort = 8089
	c.HCM.StandInCommand, c.HCM.StandInPIDFile = []string{"standin"}, "/run/hcm.pid"
	cfg, _ = FromConfig(c, "")
	if cfg.Interval != 3*time.Second || cfg.Recovery.Grace != 5*time.Second || cfg.TunnelPort != 8089 {
		t.Fatalf("intervals and port not taken: %+v", cfg)
	}
	si, ok := ServiceFromConfig(c).(*StandIn)
	if !ok || si.PIDFile != "/run/hcm.pid" || si.ServiceName != DefaultServiceName || len(si.Command) != 1 {
		t.Fatalf("stand-in: %+v", si)
	}
	c.HCM.Recovery = config.RecoveryReport
	c.HCM.KeepAwake = false
	cfg, _ = FromConfig(c, "")
	if cfg.Recovery.Enabled || cfg.ClinicHours != nil {
		t.Fatalf("report only, no keep-awake: %+v", cfg)
	}
}
