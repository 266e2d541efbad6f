package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// NeedTool skips the test when an external program is missing on a developer's
// machine, but fails it under CI (CI is set), where .ci/setup installs every tool the
// tests use: a check that silently skips in CI is a check that never runs.
func NeedTool(tb testing.TB, name, hint string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is not installed, but CI must run this check (%s)", name, hint)
	}
	tb.Skipf("%s is not installed (%s)", name, hint)
}
