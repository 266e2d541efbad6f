// Package glprobe finds out, before the tray's toolkit starts, whether this Windows
// session can draw its windows. Fyne needs OpenGL 2.1; a Remote Desktop session or a
// VM without a GPU offers only Windows' own OpenGL 1.1 ("GDI Generic"), where Fyne's
// window creation fails ("WGL: The driver does not appear to support OpenGL", Fyne
// issues 410 and 2700). The tray then loads a software OpenGL (Mesa's llvmpipe
// opengl32.dll) that the installer put in its mesa\ folder, which is what users of
// Fyne on such machines do by hand (issue 2700), or, without one, says so plainly and
// writes an event. Probing creates a throwaway OpenGL context, which would load the
// system opengl32.dll for good, so it runs in a child process (Probe).
package glprobe

import (
	"fmt"
	"strconv"
	"strings"
)

// Result is what a probe found.
type Result struct {
	Version  string // GL_VERSION, e.g. "4.6.0 NVIDIA 551.23" or "1.1.0"
	Renderer string // GL_RENDERER, e.g. "GDI Generic"
	Err      string // why no context could be made, when none could
	Remote   bool   // a Remote Desktop session (SM_REMOTESESSION)
}

// MinMajor and MinMinor are the OpenGL version the tray's toolkit needs.
const MinMajor, MinMinor = 2, 1

// Verdict is what the tray does with a Result.
type Verdict int

const (
	// Native: the system OpenGL is enough.
	Native Verdict = iota
	// Software: load the shipped software OpenGL before the toolkit starts.
	Software
	// Unusable: no OpenGL the toolkit can use, and no software one shipped.
	Unusable
)

// Decide picks the Verdict: the system OpenGL when it reaches 2.1, else the shipped
// software one when there is one.
func Decide(r Result, softwareShipped bool) Verdict {
	if r.Err == "" && atLeast(r.Version, MinMajor, MinMinor) {
		return Native
	}
	if softwareShipped {
		return Software
	}
	return Unusable
}

// atLeast parses the leading "major.minor" of a GL_VERSION string.
func atLeast(version string, major, minor int) bool {
	f := strings.FieldsFunc(version, func(r rune) bool { return r == '.' || r == ' ' })
	if len(f) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(f[0])
	mi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// Explain is the sentence the tray shows and the event log records when the session
// cannot draw the tray's windows.
func Explain(r Result) string {
	found := "no OpenGL at all (" + r.Err + ")"
	if r.Err == "" {
		found = fmt.Sprintf("OpenGL %s (%s)", r.Version, r.Renderer)
	}
	where := "This PC"
	if r.Remote {
		where = "This Remote Desktop session"
	}
	return fmt.Sprintf("ClinicPro Images cannot draw its windows: %s offers %s and it needs OpenGL %d.%d. "+
		"Ask your practice IT to install the ClinicPro Images package built with the software renderer, "+
		"or to give Remote Desktop sessions the server's graphics adapter (Group Policy: \"Use hardware graphics adapters for all Remote Desktop Services sessions\"). "+
		"Photos in watched folders are still sent meanwhile.", where, found, MinMajor, MinMinor)
}

// ParseOutput reads what the probe child printed: key=value lines.
func ParseOutput(out string) Result {
	var r Result
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch k {
		case "version":
			r.Version = v
		case "renderer":
			r.Renderer = v
		case "error":
			r.Err = v
		case "remote":
			r.Remote = v == "1"
		}
	}
	if r.Version == "" && r.Err == "" {
		r.Err = "the probe printed nothing"
	}
	return r
}

// Format is what the probe child prints for ParseOutput.
func Format(r Result) string {
	remote := "0"
	if r.Remote {
		remote = "1"
	}
	return fmt.Sprintf("version=%s\nrenderer=%s\nerror=%s\nremote=%s\n", r.Version, r.Renderer, r.Err, remote)
}
