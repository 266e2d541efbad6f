package diagnostics

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/redact"
)

// Test patients: NHIs start with Z; ZZZ0016 "TESTING" is the canonical one.
var forbidden = []string{"ZZZ0016", "zzz0016", "ZZZ0024", "ZAC5361", "ZHW58CZ", "TESTING", "Testing", "Grace", "1980-04-07", "s3cret-value", "SharedAccessKey=abc"}

type testConfig struct {
	Relay    string            `json:"relay"`
	Secret   string            `json:"clientSecret"`
	HCM      map[string]any    `json:"hcm"`
	Folders  []map[string]any  `json:"folders"`
	Labels   map[string]string `json:"labels"`
	LastNHI  string            `json:"nhi"`
	LastName string            `json:"patientName"`
}

func TestBundleHasNoPatientData(t *testing.T) {
	ring := NewRing(100)
	// The agent's real logging path: redaction handler over text, plus a line from
	// code that bypassed it (a raw write) and a JSON line.
	log := slog.New(redact.NewHandler(slog.NewTextHandler(ring, nil)))
	log.Info("uploaded ZZZ0016 knee.tiff", "nhi", "ZZZ0016", "family", "TESTING", "birthDate", "1980-04-07", "service", "HybridConnectionManager")
	ring.Write([]byte(`time=x level=INFO msg="raw write" name=TESTING given="Grace Ann" file="ZZZ0024 wound.jpg" dob=1980-04-07 token=s3cret-value` + "\n"))
	ring.Write([]byte(`{"level":"WARN","msg":"launch for ZAC5361","patient":{"family":"TESTING","given":"Grace"},"birthDate":"1980-04-07","subject":"Patient/zhw58cz"}` + "\n"))

	cfg := testConfig{
		Relay: "https://relay.example.test", Secret: "s3cret-value",
		HCM:     map[string]any{"serviceName": "HybridConnectionManager", "connectionString": "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey=abc"},
		Folders: []map[string]any{{"label": "scanner", "path": `C:\Scans\ZZZ0016`}},
		Labels:  map[string]string{"last": "ZHW58CZ"}, LastNHI: "ZZZ0016", LastName: "TESTING",
	}
	rep := health.Aggregate(at, []health.Check{
		{Name: "folder.scanner", Title: "Watched folder scanner", State: health.Degraded, Detail: `C:\Scans\ZZZ0016 does not exist.`, Fix: "Create it."},
		{Name: "hcm.service", Title: "Hybrid Connection Manager", State: health.OK, Detail: "running"},
	})
	var zbuf bytes.Buffer
	err := WriteBundle(&zbuf, BundleInput{At: at, Report: rep, Config: cfg, LogLines: ring.Lines(),
		Versions: map[string]string{"hcm": "0.7.9"}})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zbuf.Bytes()), int64(zbuf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
		for _, bad := range forbidden {
			if strings.Contains(strings.ToLower(string(b)), strings.ToLower(bad)) {
				t.Errorf("%s contains %q", f.Name, bad)
			}
		}
	}
	for _, name := range []string{"README.txt", "versions.json", "config.json", "health.json", "health.txt", "log.txt"} {
		if _, ok := files[name]; !ok {
			t.Errorf("bundle lacks %s", name)
		}
	}
	// What support needs must survive the scrubbing.
	for name, want := range map[string]string{
		"config.json":   "HybridConnectionManager",
		"versions.json": `"hcm": "0.7.9"`,
		"health.txt":    "✗ Watched folder scanner",
		"log.txt":       "raw write",
	} {
		if !strings.Contains(files[name], want) {
			t.Errorf("%s lost %q:\n%s", name, want, files[name])
		}
	}
	if strings.Count(files["log.txt"], "\n") != 3 {
		t.Errorf("log lines: %q", files["log.txt"])
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(files["versions.json"]), &v); err != nil || v["go"] == "" {
		t.Errorf("versions: %v %v", v, err)
	}
}

func FuzzScrubLogLine(f *testing.F) {
	for _, s := range []string{`msg="x" nhi=ZZZ0016`, `{"nhi":"ZZZ0016","n":[1,"zzz0016"]}`, `a="b\"c" name=TESTING`, "ZZZ00AX ok", `{"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		out := ScrubLogLine(line)
		if redact.String(out) != out {
			t.Fatalf("NHI-shaped text survived: %q -> %q", line, out)
		}
	})
}
