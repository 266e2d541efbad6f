//go:build !windows

package hcm

func runAsService() bool { return false }
