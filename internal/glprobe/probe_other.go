//go:build !windows

package glprobe

// ProbeFlag is the argument that makes the tray exe run the probe and exit.
const ProbeFlag = "-probe-opengl"

// Elsewhere the toolkit's own OpenGL loading (X11, Wayland) decides; these are no-ops.
func RunChild()                 {}
func Probe(string) Result       { return Result{Version: "native"} }
func Shipped(string) bool       { return false }
func LoadSoftware(string) error { return nil }
func Tell(string, string)       {}
