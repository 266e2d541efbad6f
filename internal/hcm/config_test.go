package hcm

import (
	"testing"

	"github.com/clinicpro/medtech-images/internal/config"
)

func TestFromConfig(t *testing.T) {
	c, err := config.Parse([]byte(config.Example))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := FromConfig(c); ok {
		t.Fatal("the example is not an HCM host, so no monitor")
	}
	c.HCM.Host = true
	c.RelayURL = "https://relay.example.test/"
	cfg, ok := FromConfig(c)
	if !ok || cfg.ServiceName != DefaultServiceName || !cfg.Recovery.Enabled || cfg.ClinicHours == nil || cfg.ClockURL != "https://relay.example.test/healthz" {
		t.Fatalf("%+v", cfg)
	}
	c.HCM.Recovery = config.RecoveryReport
	c.HCM.KeepAwake = false
	cfg, _ = FromConfig(c)
	if cfg.Recovery.Enabled || cfg.ClinicHours != nil {
		t.Fatalf("report only, no keep-awake: %+v", cfg)
	}
}
