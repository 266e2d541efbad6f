package config

import (
	"path/filepath"

	"github.com/clinicpro/medtech-images/internal/originals"
)

// Paths are where the agent keeps its configuration and data.
type Paths struct {
	ConfigFile string // the TOML configuration
	DataDir    string // queue database, spool, logs, secrets
}

// DefaultPaths returns the per-OS locations, or everything under dataOverride when
// it is set (the --data flag: development, tests, portable installs).
func DefaultPaths(dataOverride string) Paths {
	if dataOverride != "" {
		return Paths{ConfigFile: filepath.Join(dataOverride, "config.toml"), DataDir: dataOverride}
	}
	return osPaths()
}

// QueueDB is the durable queue's SQLite file.
func (p Paths) QueueDB() string { return filepath.Join(p.DataDir, "queue.db") }

// SpoolDir holds the agent's own copy of every queued file.
func (p Paths) SpoolDir() string { return filepath.Join(p.DataDir, "spool") }

// RejectedDir receives discarded items that have no source folder (captures, drops),
// under the name a watched folder's Rejected subfolder has.
func (p Paths) RejectedDir() string { return filepath.Join(p.DataDir, originals.RejectedDir) }

// LogDir holds the agent's (redacted) logs.
func (p Paths) LogDir() string { return filepath.Join(p.DataDir, "logs") }
