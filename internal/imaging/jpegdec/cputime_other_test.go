//go:build !unix

package jpegdec

// cpuTime is not measured here (benchmarks report it on the build machine).
func cpuTime() int64 { return 0 }
