package doctor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent/diagnostics"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/redact"
)

// LocalInput is what a diagnostics bundle is made of when the agent does not
// answer: this PC's configuration and logs, read by whoever asks (the tray's Copy
// diagnostics), and the agent's last report if the asker kept one.
type LocalInput struct {
	At    time.Time
	Paths config.Paths
	// Logs are more log files to include (the tray's own), besides the agent's.
	Logs []string
	// Last is the agent's last report and LastAt when it came; zero if none.
	Last   health.Report
	LastAt time.Time
	Loc    *time.Location
}

// logTail is how much of the end of each log a local bundle reads.
const logTail = 256 << 10

// maxLocalLines bounds the lines kept from each log.
const maxLocalLines = 400

// WriteLocalBundle writes the diagnostics zip without the agent: its health says
// the agent does not answer (with the fix), whether the configuration file reads,
// and, marked as such, what the agent last reported; its log holds the end of the
// agent's log (when this user may read it) and of the other logs given. Everything
// is scrubbed by WriteBundle, as the agent's own bundle is.
func WriteLocalBundle(w io.Writer, in LocalInput) error {
	if in.At.IsZero() {
		in.At = time.Now()
	}
	if in.Loc == nil {
		in.Loc = time.Local
	}
	cs := []health.Check{{Name: checks.NameAgent, Title: "ClinicPro agent", State: health.Offline, Critical: true,
		Detail: "The ClinicPro agent did not answer when this bundle was made.", Fix: checks.FixAgent}}
	cfgCheck := health.Check{Name: checks.NameConfig, Title: "Configuration file", Critical: true}
	cfg, err := config.Load(in.Paths.ConfigFile)
	var cfgOut any
	if err != nil {
		cfgCheck.State, cfgCheck.Detail = health.Offline, err.Error()
		cfgCheck.Fix = checks.FixConfig
		cfgOut = map[string]string{"unreadable": redact.String(err.Error())}
	} else {
		cfgCheck.State, cfgCheck.Detail = health.OK, "valid"
		cfgOut = cfg
	}
	cs = append(cs, cfgCheck)
	for _, c := range in.Last.Checks {
		c.Name = "last." + c.Name
		c.Detail = fmt.Sprintf("Last reported by the agent at %s: %s", in.LastAt.In(in.Loc).Format("2 Jan 15:04:05"), c.Detail)
		cs = append(cs, c)
	}
	var lines []string
	for _, p := range append([]string{filepath.Join(in.Paths.LogDir(), "agent.log")}, in.Logs...) {
		ls, err := tailLines(p)
		lines = append(lines, "==> "+filepath.Base(p)+" <==")
		if err != nil {
			lines = append(lines, "(not read: "+describeLogErr(err)+")")
			continue
		}
		lines = append(lines, ls...)
	}
	return diagnostics.WriteBundle(w, diagnostics.BundleInput{At: in.At, Report: health.Aggregate(in.At, cs), Config: cfgOut, LogLines: lines, Loc: in.Loc,
		Versions: map[string]string{"made by": "the tray, without the agent"}})
}

func describeLogErr(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "there is no such log on this PC"
	case errors.Is(err, os.ErrPermission):
		return "this Windows user may not read it; run Copy diagnostics as an administrator to include it"
	}
	return "it could not be read"
}

// tailLines returns the last lines of a log, reading at most logTail bytes.
func tailLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(0, fi.Size()-logTail)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if off > 0 {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:] // a partial first line
		}
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > maxLocalLines {
		ls = ls[len(ls)-maxLocalLines:]
	}
	return ls, nil
}
