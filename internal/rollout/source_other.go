//go:build !windows

package rollout

import "path/filepath"

// System is where this OS's installer leaves the values: rollout.toml in dataDir.
func System(dataDir string) Source { return File{Path: filepath.Join(dataDir, "rollout.toml")} }
