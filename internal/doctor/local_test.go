package doctor

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
)

// TestLocalBundleWithoutTheAgent: with no agent to ask, the bundle is made from
// this PC's configuration and logs: it says the agent did not answer and what it
// last reported, carries the ends of both logs, and no patient data.
// forbidden are the test patients' identifiers and the secrets a bundle must never hold.
var forbidden = []string{"ZZZ0016", "zzz0016", "ZZZ0024", "ZAC5361", "ZHW58CZ", "TESTING", "Testing", "Grace", "1980-04-07", "s3cret-value", "SharedAccessKey=abc"}

func TestLocalBundleWithoutTheAgent(t *testing.T) {
	dir := t.TempDir()
	paths := config.DefaultPaths(dir)
	if err := os.WriteFile(paths.ConfigFile, []byte("[[folder]]\npath = '"+filepath.Join(dir, "ZZZ0016 scans")+"'\nlabel = \"Scans\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(paths.LogDir(), 0o700)
	var agentLog strings.Builder
	for i := range 2000 {
		agentLog.WriteString("time=x level=INFO msg=\"file taken\" n=" + string(rune('a'+i%26)) + "\n")
	}
	agentLog.WriteString("time=x level=WARN msg=\"upload for ZZZ0016 failed\" family=TESTING dob=1980-04-07\n")
	os.WriteFile(filepath.Join(paths.LogDir(), "agent.log"), []byte(agentLog.String()), 0o600)
	trayLog := filepath.Join(dir, "tray.log")
	os.WriteFile(trayLog, []byte("time=x level=INFO msg=\"tray started\"\n"), 0o600)

	at := time.Date(2026, 12, 3, 10, 30, 0, 0, time.UTC)
	last := health.Aggregate(at.Add(-time.Minute), []health.Check{{Name: "hcm.service", Title: "Hybrid Connection Manager", State: health.Offline,
		Critical: true, Detail: "The Hybrid Connection Manager service is stopped.", Fix: "Start it."}})
	var b bytes.Buffer
	if err := WriteLocalBundle(&b, LocalInput{At: at, Paths: paths, Logs: []string{trayLog, filepath.Join(dir, "missing.log")},
		Last: last, LastAt: at.Add(-time.Minute), Loc: time.UTC}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		body, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(body)
		// The setting "RestartGrace" is not the test patient Grace.
		body = bytes.ReplaceAll(body, []byte("RestartGrace"), nil)
		for _, bad := range forbidden {
			if strings.Contains(string(body), bad) {
				t.Errorf("%s holds %q: %.300s", f.Name, bad, body[max(0, strings.Index(string(body), bad)-200):])
			}
		}
	}
	h := files["health.txt"]
	for _, want := range []string{"did not answer", "Configuration file: valid", "Last reported by the agent at 3 Dec 10:29:00: The Hybrid Connection Manager service is stopped"} {
		if !strings.Contains(h, want) {
			t.Errorf("health.txt lacks %q:\n%s", want, h)
		}
	}
	l := files["log.txt"]
	if !strings.Contains(l, "==> agent.log <==") || !strings.Contains(l, "tray started") || !strings.Contains(l, "upload for") ||
		!strings.Contains(l, "missing.log <==\n(not read: there is no such log on this PC)") {
		t.Errorf("log.txt:\n%.2000s", l)
	}
	if n := strings.Count(l, "file taken"); n > maxLocalLines {
		t.Errorf("%d lines of the agent log, want at most %d", n, maxLocalLines)
	}
	if !strings.Contains(files["config.json"], "Scans") {
		t.Errorf("config.json: %s", files["config.json"])
	}
}
