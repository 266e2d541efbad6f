//go:build !windows

package secret

// KeyFileName exists only on Windows; the shared test names it on every OS.
const KeyFileName = "connector.key"
