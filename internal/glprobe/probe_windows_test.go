//go:build windows

package glprobe

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ProbeFlag {
		RunChild()
	}
	os.Exit(m.Run())
}

// TestProbeInAChild runs the real probe as the tray does, in a child process (this
// test binary). Under Wine without a display there is no usable OpenGL, which is the
// Remote Desktop case: the verdict must then be the software renderer when one is
// shipped and Unusable otherwise; on a Windows with a GPU it is Native.
func TestProbeInAChild(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := Probe(exe)
	t.Logf("probe: %+v", r)
	if r.Err == "" && r.Version == "" {
		t.Fatal("the probe reported neither a version nor an error")
	}
	if Decide(r, false) == Native {
		if !atLeast(r.Version, MinMajor, MinMinor) {
			t.Fatalf("Native with OpenGL %q", r.Version)
		}
		return
	}
	if Decide(r, true) != Software || Decide(r, false) != Unusable {
		t.Fatalf("no usable OpenGL (%+v) but the verdicts are %d and %d", r, Decide(r, true), Decide(r, false))
	}
	if Shipped(exe) {
		t.Fatal("a software OpenGL is reported shipped beside the test binary")
	}
}
