// Package version holds the build's version, set by the linker from git.
package version

// Version is overwritten at link time with -X; "dev" marks a local build.
var Version = "dev"
