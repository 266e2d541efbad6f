//go:build !windows

package eventlog

import "log/slog"

// Open returns slog's default logger as the event log: only Windows has one.
func Open() (Writer, func() error, error) {
	return Slog{Log: slog.Default()}, func() error { return nil }, nil
}

// Install does nothing outside Windows.
func Install() error { return nil }
