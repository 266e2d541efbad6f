package hcm

import (
	"context"
	"os"
	"testing"
)

// TestMain lets the test binary double as a stand-in HCM: with HCM_STANDIN_DIAL set
// it connects to that address (as HCM connects to Azure Relay) and holds the
// connection until killed. On Windows, service_windows_test.go adds a service mode.
func TestMain(m *testing.M) {
	if addr := os.Getenv("HCM_STANDIN_DIAL"); addr != "" {
		_ = RunStandIn(context.Background(), addr)
		os.Exit(0)
	}
	if runAsService() {
		return
	}
	os.Exit(m.Run())
}
