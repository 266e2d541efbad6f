//go:build !windows

package watch

// platformOpener: Unix has no mandatory locks, so a writer cannot be detected this
// way; the stability window does that job.
type platformOpener struct{}

func (platformOpener) CanOpenExclusive(string) bool { return true }
