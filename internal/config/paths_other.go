//go:build !windows

package config

// Linux keeps configuration and state apart, as the FHS and systemd expect.
func osPaths() Paths {
	return Paths{ConfigFile: "/etc/clinicpro/config.toml", DataDir: "/var/lib/clinicpro"}
}
