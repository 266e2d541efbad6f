//go:build !unix

package imaging

// cpuTime is not measured here (benchmarks report it on the build machine).
func cpuTime() int64 { return 0 }
