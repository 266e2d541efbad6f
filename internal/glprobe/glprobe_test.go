package glprobe

import (
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		r       Result
		shipped bool
		want    Verdict
	}{
		{Result{Version: "4.6.0 NVIDIA 551.23", Renderer: "NVIDIA RTX A2000"}, false, Native},
		{Result{Version: "2.1 Mesa 23.1.0", Renderer: "llvmpipe"}, false, Native},
		{Result{Version: "3.3.0 - Build 31.0.101.2125"}, true, Native},
		// Remote Desktop without a GPU: Windows' own OpenGL 1.1.
		{Result{Version: "1.1.0", Renderer: "GDI Generic", Remote: true}, true, Software},
		{Result{Version: "1.1.0", Renderer: "GDI Generic", Remote: true}, false, Unusable},
		{Result{Version: "2.0.0"}, false, Unusable},
		{Result{Err: "wglCreateContext failed"}, true, Software},
		{Result{Err: "no window"}, false, Unusable},
		{Result{Version: "garbage"}, false, Unusable},
	} {
		if got := Decide(tc.r, tc.shipped); got != tc.want {
			t.Errorf("Decide(%+v, shipped %v) = %d, want %d", tc.r, tc.shipped, got, tc.want)
		}
	}
}

func TestOutputRoundTrip(t *testing.T) {
	r := Result{Version: "1.1.0", Renderer: "GDI Generic", Remote: true}
	if got := ParseOutput(Format(r)); got != r {
		t.Fatalf("round trip %+v -> %+v", r, got)
	}
	if got := ParseOutput(""); got.Err == "" {
		t.Fatal("a silent probe counts as OpenGL")
	}
}

func TestExplainSaysWhatAndWhatToDo(t *testing.T) {
	msg := Explain(Result{Version: "1.1.0", Renderer: "GDI Generic", Remote: true})
	for _, want := range []string{"Remote Desktop session", "OpenGL 1.1.0 (GDI Generic)", "needs OpenGL 2.1", "software renderer", "Use hardware graphics adapters for all Remote Desktop Services sessions", "still sent"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
}
