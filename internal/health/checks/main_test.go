package checks

import (
	"encoding/json"
	"os"
	"testing"
)

// TestMain lets the test binary run one Folder check in a child process, so a test
// running as root can see what an unprivileged account sees.
func TestMain(m *testing.M) {
	if p := os.Getenv("CHECKS_FOLDER_PATH"); p != "" {
		_ = json.NewEncoder(os.Stdout).Encode(Folder("scanner", p))
		os.Exit(0)
	}
	os.Exit(m.Run())
}
