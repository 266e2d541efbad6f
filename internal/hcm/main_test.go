package hcm

import (
	"net"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary double as a stand-in HCM: with HCM_STANDIN_DIAL set
// it connects to that address (as HCM connects to Azure Relay) and holds the
// connection until killed. On Windows, windows_test.go adds a service mode.
func TestMain(m *testing.M) {
	if addr := os.Getenv("HCM_STANDIN_DIAL"); addr != "" {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			os.Exit(3)
		}
		defer conn.Close()
		for {
			time.Sleep(time.Hour)
		}
	}
	if runAsService() {
		return
	}
	os.Exit(m.Run())
}
