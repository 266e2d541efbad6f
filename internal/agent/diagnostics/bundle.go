// Package diagnostics is the agent's side of support: the ring of recent log lines,
// the tail of the agent's log file, and the diagnostics bundle (a zip with versions,
// the configuration, the health report and the log lines, all scrubbed of patient
// data and secrets). The agent writes it through the local API; `clinicpro doctor
// --bundle` writes it through internal/agent/daemon when the agent is down.
package diagnostics

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/version"
)

// BundleInput is what goes into a diagnostics bundle. Nothing in it may carry
// patient data on purpose; everything is scrubbed again on the way in as a
// backstop.
type BundleInput struct {
	At       time.Time
	Report   health.Report
	Config   any               // the agent's configuration; secrets and patient keys are masked
	Versions map[string]string // extra versions (HCM, Windows build, relay)
	LogLines []string          // recent log lines, oldest first
	Loc      *time.Location
}

// WriteBundle writes the diagnostics zip: README.txt, versions.json, config.json,
// health.json, health.txt and log.txt.
func WriteBundle(w io.Writer, in BundleInput) error {
	if in.At.IsZero() {
		in.At = time.Now()
	}
	z := zip.NewWriter(w)
	add := func(name string, body []byte) error {
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: in.At})
		if err != nil {
			return err
		}
		_, err = f.Write(body)
		return err
	}
	versions := map[string]string{
		"clinicpro": version.Version, "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			versions["dep "+d.Path] = d.Version
		}
	}
	for k, v := range in.Versions {
		versions[k] = redact.String(v)
	}
	cfg, err := scrubJSON(in.Config)
	if err != nil {
		return fmt.Errorf("diagnostics bundle: configuration: %w", err)
	}
	rep := scrubReport(in.Report)
	repJSON, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	var txt bytes.Buffer
	_ = health.WriteText(&txt, rep, in.Loc)
	var logs strings.Builder
	for _, l := range in.LogLines {
		logs.WriteString(ScrubLogLine(l))
		logs.WriteByte('\n')
	}
	verJSON, _ := json.MarshalIndent(versions, "", "  ")
	readme := fmt.Sprintf("ClinicPro Images diagnostics bundle, %s.\n"+
		"It holds versions, the configuration with secrets removed, the health checks and recent log lines.\n"+
		"Patient identifiers, names and birth dates are removed; send it to ClinicPro support.\n", in.At.UTC().Format(time.RFC3339))
	for _, f := range []struct {
		name string
		body []byte
	}{
		{"README.txt", []byte(readme)}, {"versions.json", verJSON}, {"config.json", cfg},
		{"health.json", repJSON}, {"health.txt", txt.Bytes()}, {"log.txt", []byte(logs.String())},
	} {
		if err := add(f.name, f.body); err != nil {
			return fmt.Errorf("diagnostics bundle: %s: %w", f.name, err)
		}
	}
	return z.Close()
}

// maskedKeys memoises masked: redact.SensitiveKey builds a strings.Replacer on every
// call, which made a 2,000-line bundle allocate 180 MB. Keys are attribute and
// field names, a small set.
var (
	maskedKeys sync.Map
	maskedN    atomic.Int32
)

// masked reports whether a key's value is patient data or a secret.
func masked(k string) bool {
	if v, ok := maskedKeys.Load(k); ok {
		return v.(bool)
	}
	m := redact.SensitiveKey(k) || secretKey(k)
	if maskedN.Add(1) < 4096 { // bounded: a log line could carry any key
		maskedKeys.Store(k, m)
	}
	return m
}

// secretKey reports whether a configuration key holds a credential.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"secret", "password", "passwd", "token", "credential", "apikey", "api_key", "sharedaccesskey", "connectionstring", "enrolcode", "enrollmentcode", "privatekey"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func scrubJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	return json.MarshalIndent(scrubTree(tree), "", "  ")
}

func scrubTree(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if masked(k) {
				t[k] = redact.Mask
				continue
			}
			t[k] = scrubTree(val)
		}
		return t
	case []any:
		for i := range t {
			t[i] = scrubTree(t[i])
		}
		return t
	case string:
		return redact.String(t)
	}
	return v
}

func scrubReport(r health.Report) health.Report {
	r.Summary = redact.String(r.Summary)
	cs := make([]health.Check, len(r.Checks))
	for i, c := range r.Checks {
		c.Detail, c.Fix = redact.String(c.Detail), redact.String(c.Fix)
		cs[i] = c
	}
	r.Checks = cs
	return r
}

// textAttr matches key=value and key="quoted value" in slog's text format.
var textAttr = regexp.MustCompile(`([A-Za-z0-9_.\-]+)=("(?:[^"\\]|\\.)*"|[^\s]*)`)

// ScrubLogLine removes patient data and secrets from one log line, JSON or text
// format: values under patient or secret keys are masked, NHI-shaped tokens too.
func ScrubLogLine(line string) string {
	trimmed := strings.TrimSpace(line)
	if strings.HasPrefix(trimmed, "{") {
		var tree any
		if json.Unmarshal([]byte(trimmed), &tree) == nil {
			if b, err := json.Marshal(scrubTree(tree)); err == nil {
				return string(b)
			}
		}
	}
	line = textAttr.ReplaceAllStringFunc(line, func(m string) string {
		k, _, _ := strings.Cut(m, "=")
		last := k
		if i := strings.LastIndex(k, "."); i >= 0 {
			last = k[i+1:]
		}
		if masked(k) || masked(last) {
			return k + "=" + redact.Mask
		}
		return m
	})
	return redact.String(line)
}
