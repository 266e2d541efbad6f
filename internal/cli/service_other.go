//go:build !windows

package cli

// runUnderSCM is Windows-only; elsewhere kardianos/service (systemd) runs the agent.
func runUnderSCM(*program) (bool, error) { return false, nil }
