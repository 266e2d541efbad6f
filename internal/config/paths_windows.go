package config

import (
	"os"
	"path/filepath"
)

// On Windows the service (LocalSystem) and every user's tray share %ProgramData%.
func osPaths() Paths {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	dir := filepath.Join(base, "ClinicPro")
	return Paths{ConfigFile: filepath.Join(dir, "config.toml"), DataDir: dir}
}
