package testutil

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// NeedTool skips the test when an external program is missing on a developer's
// machine, but fails it under CI (CI is set) on Linux, where .ci/setup installs every
// tool the tests use: a check that silently skips in CI is a check that never runs.
// Windows test binaries (run under Wine in CI) skip: the tools are Debian packages.
func NeedTool(tb testing.TB, name, hint string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") != "" && runtime.GOOS != "windows" {
		tb.Fatalf("%s is not installed, but CI must run this check (%s)", name, hint)
	}
	tb.Skipf("%s is not installed (%s)", name, hint)
}
