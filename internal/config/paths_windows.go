package config

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// On Windows the service (LocalSystem) and every user's tray share ProgramData. The
// known folder, not %ProgramData%: the variable is whatever the starting process
// passed (Wine's service manager passes another folder than the one the MSI installs
// into), while the known folder is where the installer put the folder and its ACL.
func osPaths() Paths {
	base, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0)
	if err != nil || base == "" {
		base = os.Getenv("ProgramData")
	}
	if base == "" {
		base = `C:\ProgramData`
	}
	dir := filepath.Join(base, "ClinicPro")
	return Paths{ConfigFile: filepath.Join(dir, "config.toml"), DataDir: dir}
}
