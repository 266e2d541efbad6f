package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/health/checks"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "cpcli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := Main(ctx, args, Env{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// startAgent runs `clinicpro run` in this process on a fresh data directory and
// waits until its local API answers. stop ends it (also done at cleanup).
func startAgent(t *testing.T, dir string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb testutil.Buffer
	go func() { done <- Main(ctx, []string{"run", "--data", dir}, Env{Stdout: &errb, Stderr: &errb}) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != ExitOK {
					t.Errorf("run exited %d: %s", code, errb.String())
				}
			case <-time.After(time.Minute):
				t.Error("run did not stop")
			}
		})
	}
	t.Cleanup(stop)
	c := localapi.Dial(localapi.DefaultAddress(dir))
	defer c.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := c.Status(context.Background()); err == nil {
			return stop
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent never answered: %s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestUsageAndUnknownCommands(t *testing.T) {
	if code, out, _ := run(t); code != ExitUsage || !strings.Contains(out, "Usage: clinicpro") {
		t.Fatalf("no args: %d %q", code, out)
	}
	if code, _, errs := run(t, "frobnicate"); code != ExitUsage || !strings.Contains(errs, "unknown command") {
		t.Fatalf("unknown: %d %q", code, errs)
	}
	if code, _, errs := run(t, "send", "a.jpg"); code != ExitUsage || !strings.Contains(errs, "--nhi") {
		t.Fatalf("send without nhi: %d %q", code, errs)
	}
	if code, _, _ := run(t, "send", "a.jpg", "--nhi", "ZZZ0017"); code != ExitUsage {
		t.Fatalf("send with an invalid NHI: %d", code)
	}
	if code, _, _ := run(t, "queue", "retry"); code != ExitUsage {
		t.Fatalf("queue retry without id: %d", code)
	}
	if code, out, _ := run(t, "version", "--json"); code != ExitOK || !strings.Contains(out, `"version"`) {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestAgentDownExitCode(t *testing.T) {
	dir := shortDir(t)
	code, _, errs := run(t, "status", "--data", dir)
	if code != ExitAgentDown || !strings.Contains(errs, "not running") {
		t.Fatalf("status with no agent: %d %q", code, errs)
	}
	code, out, _ := run(t, "queue", "list", "--data", dir, "--json")
	var e localapi.Error
	if code != ExitAgentDown || json.Unmarshal([]byte(out), &e) != nil || e.Message == "" {
		t.Fatalf("queue --json with no agent: %d %q", code, out)
	}
}

func TestAgainstRunningAgent(t *testing.T) {
	dir := shortDir(t)
	startAgent(t, dir)

	// Not enrolled: status answers, says so, and exits "offline".
	code, out, _ := run(t, "status", "--data", dir)
	if code != ExitOffline || !strings.Contains(out, "not enrolled") || !strings.Contains(out, "clinicpro enrol") {
		t.Fatalf("status: %d\n%s", code, out)
	}
	// Options before the command work as well as after it.
	_, out, _ = run(t, "--data", dir, "status", "--json")
	var st localapi.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Enrolled {
		t.Fatalf("status --json: %v %q", err, out)
	}
	if code, out, _ := run(t, "queue", "--data", dir); code != ExitOK || !strings.Contains(out, "empty") {
		t.Fatalf("queue: %d %q", code, out)
	}
	img := filepath.Join(dir, "ZZZ0016 knee.jpg")
	os.WriteFile(img, []byte("\xff\xd8\xff not really"), 0o644)
	code, _, errs := run(t, "send", img, "--nhi", "ZZZ0016", "--data", dir)
	if code != ExitFailed || !strings.Contains(errs, "not enrolled") {
		t.Fatalf("send while not enrolled: %d %q", code, errs)
	}
	if strings.Contains(errs, "ZZZ0016") {
		t.Fatalf("error output names the patient: %q", errs)
	}
	if code, _, errs := run(t, "queue", "retry", "0123456789abcdef", "--data", dir); code != ExitFailed || !strings.Contains(errs, "no longer exists") {
		t.Fatalf("retry unknown: %d %q", code, errs)
	}
	if code, _, errs := run(t, "queue", "send-again", "0123456789abcdef", "--data", dir); code != ExitFailed || !strings.Contains(errs, "no longer exists") {
		t.Fatalf("send-again unknown: %d %q", code, errs)
	}
	if code, _, _ := run(t, "queue", "assign", "0123456789abcdef", "--data", dir); code != ExitUsage {
		t.Fatalf("assign without --nhi: %d", code)
	}
	if code, _, errs := run(t, "queue", "assign", "0123456789abcdef", "--nhi", "ZZZ0016", "--data", dir); code != ExitFailed || !strings.Contains(errs, "not enrolled") {
		t.Fatalf("assign while not enrolled: %d %q", code, errs)
	}
	code, out, _ = run(t, "doctor", "--data", dir)
	if code != ExitOffline || !strings.Contains(out, "enrol") {
		t.Fatalf("doctor: %d\n%s", code, out)
	}
	// The diagnostics bundle, from the running agent.
	zipPath := filepath.Join(dir, "diag.zip")
	code, _, errs = run(t, "doctor", "--bundle", zipPath, "--data", dir)
	if code != ExitOffline || !strings.Contains(errs, "diag.zip") {
		t.Fatalf("doctor --bundle: %d %q", code, errs)
	}
	checkBundle(t, zipPath, "")
}

// checkBundle opens a diagnostics zip and checks its parts; logNeedle is a line the
// log part must hold.
func checkBundle(t *testing.T, path, logNeedle string) {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("bundle %s: %v", path, err)
	}
	defer z.Close()
	parts := map[string]string{}
	for _, f := range z.File {
		r, _ := f.Open()
		b, _ := io.ReadAll(r)
		r.Close()
		parts[f.Name] = string(b)
	}
	for _, name := range []string{"README.txt", "versions.json", "health.json", "health.txt", "log.txt"} {
		if _, ok := parts[name]; !ok {
			t.Errorf("bundle lacks %s (has %v)", name, len(parts))
		}
	}
	if logNeedle != "" && !strings.Contains(parts["log.txt"], logNeedle) || !strings.Contains(parts["health.txt"], "Overall") {
		t.Errorf("bundle log %q\nhealth %q", parts["log.txt"], parts["health.txt"])
	}
}

// TestDoctorBundleWithoutTheAgent: practice IT can send support a bundle even when
// the agent does not start: doctor's own checks and the tail of the agent's log.
func TestDoctorBundleWithoutTheAgent(t *testing.T) {
	dir := shortDir(t)
	os.MkdirAll(filepath.Join(dir, "logs"), 0o700)
	os.WriteFile(filepath.Join(dir, "logs", "agent.log"), []byte("level=ERROR msg=\"the agent could not start\" nhi=ZZZ0016\n"), 0o600)
	zipPath := filepath.Join(dir, "diag.zip")
	code, out, errs := run(t, "doctor", "--bundle", zipPath, "--data", dir)
	if code != ExitOffline || !strings.Contains(out, "ClinicPro agent") || !strings.Contains(errs, "diag.zip") {
		t.Fatalf("doctor --bundle, agent down: %d\n%s\n%s", code, out, errs)
	}
	checkBundle(t, zipPath, "the agent could not start")
	b, _ := os.ReadFile(zipPath)
	z, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	for _, f := range z.File {
		r, _ := f.Open()
		body, _ := io.ReadAll(r)
		r.Close()
		if strings.Contains(string(body), "ZZZ0016") {
			t.Errorf("bundle part %s names the patient", f.Name)
		}
	}
	if code, _, _ := run(t, "doctor", "extra", "--data", dir); code != ExitUsage {
		t.Fatalf("doctor with an argument: %d", code)
	}
}

// TestHelpPrintsTheExitCodeTable: the one table, every code in it.
func TestHelpPrintsTheExitCodeTable(t *testing.T) {
	code, out, _ := run(t, "help")
	if code != ExitOK {
		t.Fatalf("help: %d", code)
	}
	for _, e := range exitCodes {
		if !strings.Contains(out, fmt.Sprintf("%d  %s", e.code, e.meaning)) {
			t.Errorf("help lacks exit code %d", e.code)
		}
	}
	if len(exitCodes) != 5 {
		t.Fatalf("%d exit codes", len(exitCodes))
	}
}

func TestServiceConfig(t *testing.T) {
	sc := serviceConfig(&common{data: `C:\ClinicPro`}, runFlags{launchAddr: "127.0.0.1:41357"})
	if sc.Name != "ClinicProAgent" || sc.DisplayName != "ClinicPro Agent" || sc.UserName != "" {
		t.Fatalf("identity: %+v", sc)
	}
	if got := strings.Join(sc.Arguments, " "); got != `service run --data C:\ClinicPro --launch-listen 127.0.0.1:41357` {
		t.Fatalf("arguments %q", got)
	}
	if sc.Option["DelayedAutoStart"] != true || sc.Option["OnFailure"] != "restart" || sc.Option["StartType"] != "automatic" {
		t.Fatalf("options %+v", sc.Option)
	}
}

func TestHCMHostIsMonitored(t *testing.T) {
	dir := shortDir(t)
	cfg := strings.Replace(config.Example, "host = false", "host = true", 1)
	cfg = strings.Replace(cfg, `recovery = "restart"`, `recovery = "report"`, 1)
	cfg = strings.Replace(cfg, `service_name = "HybridConnectionManager"`, `service_name = "clinicpro-test-no-such-unit"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startAgent(t, dir)
	c := localapi.Dial(localapi.DefaultAddress(dir))
	defer c.Close()
	var found bool
	deadline := time.Now().Add(time.Minute)
	for !found && time.Now().Before(deadline) {
		st, err := c.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range st.Health.Checks {
			found = found || ch.Name == "hcm.service"
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !found {
		t.Fatal("no hcm.service check in the agent's status on the HCM host")
	}
	if code, out, _ := run(t, "status", "--data", dir); !strings.Contains(out, "HCM") || strings.Contains(out, "not monitored") {
		t.Fatalf("status %d:\n%s", code, out)
	}
}

func TestInvalidConfigurationStopsStartUp(t *testing.T) {
	dir := shortDir(t)
	os.WriteFile(filepath.Join(dir, "config.toml"), []byte("byte_budget = 1000000\nstability_window = \"forever\"\n"), 0o644)
	code, _, errs := run(t, "run", "--data", dir)
	if code != ExitFailed || !strings.Contains(errs, "line 2") {
		t.Fatalf("run with a bad configuration: %d %q", code, errs)
	}
}

// TestDoctorWithoutAgentChecksFromHere: with no agent to ask, doctor still reports
// enrolment and the spool disk through the standard probes.
func TestDoctorWithoutAgentChecksFromHere(t *testing.T) {
	dir := shortDir(t)
	code, out, _ := run(t, "doctor", "--json", "--data", dir)
	var r health.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("doctor --json: %v %q", err, out)
	}
	names := map[string]health.Check{}
	for _, c := range r.Checks {
		names[c.Name] = c
	}
	if code != ExitOffline || names[checks.NameEnrolled].State != health.Offline {
		t.Fatalf("doctor without enrolment: %d %+v", code, r.Checks)
	}
	if d, ok := names[checks.NameDisk]; !ok || d.State == health.Unknown {
		t.Fatalf("doctor did not read the spool disk: %+v", r.Checks)
	}
}

// TestServiceStartReportsOnlyWhenReady: the service tells Windows it is running only
// once its configuration, queue and pipe are open (the local API answers the moment
// Start returns), and a start that cannot work returns its error instead, which is
// what makes Windows Installer roll a failed install or upgrade back.
func TestServiceStartReportsOnlyWhenReady(t *testing.T) {
	var errb testutil.Buffer
	dir := shortDir(t)
	p := &program{paths: config.DefaultPaths(dir), stderr: &errb}
	if err := p.Start(nil); err != nil {
		t.Fatalf("Start: %v\n%s", err, errb.String())
	}
	c := localapi.Dial(localapi.DefaultAddress(dir))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err := c.Status(ctx)
	cancel()
	c.Close()
	if err != nil {
		t.Errorf("the agent reported started but its API does not answer: %v", err)
	}

	// A second agent on the same data folder finds the socket taken.
	second := &program{paths: config.DefaultPaths(dir), stderr: &errb}
	if err := second.Start(nil); err == nil || !strings.Contains(err.Error(), "already listening") {
		t.Errorf("a second agent on a taken socket: Start = %v", err)
		if err == nil {
			second.Stop(nil)
		}
	}
	p.Stop(nil)

	broken := shortDir(t)
	os.WriteFile(filepath.Join(broken, "config.toml"), []byte("byte_budget = 1000000\nstability_window = \"forever\"\n"), 0o600)
	bp := &program{paths: config.DefaultPaths(broken), stderr: &errb}
	if err := bp.Start(nil); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("Start with a broken configuration = %v; want the parse error", err)
	}
	c = localapi.Dial(localapi.DefaultAddress(broken))
	defer c.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Status(ctx); err == nil {
		t.Error("a failed start left its local API answering")
	}
}

// TestTrayClose: `clinicpro tray close`, as the MSI runs it, reaches a tray connected
// to the running agent, which exits.
func TestTrayClose(t *testing.T) {
	dir := shortDir(t)
	startAgent(t, dir)
	c := localapi.Dial(localapi.DefaultAddress(dir))
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		for ev := range ch {
			if ev.Type == localapi.EventClose {
				close(closed)
				cancel()
				return
			}
		}
	}()
	code, out, errs := run(t, "tray", "close", "--data", dir)
	if code != ExitOK || !strings.Contains(out, "Asked 1 tray(s) to close; 0 still open.") {
		t.Fatalf("tray close: %d %q %q", code, out, errs)
	}
	select {
	case <-closed:
	default:
		t.Fatal("the tray was not told to close")
	}
	if code, _, _ := run(t, "tray", "open", "--data", dir); code != ExitUsage {
		t.Fatalf("tray open: exit %d, want usage", code)
	}
}

// TestStatusAndDoctorNameChecksAlike: the checks doctor runs itself when the agent
// is down are the agent's own checks under the same names (a watched folder is
// folder.<label> in both), so practice IT reads one vocabulary.
func TestStatusAndDoctorNameChecksAlike(t *testing.T) {
	dir := shortDir(t)
	scans := filepath.Join(dir, "scans")
	os.MkdirAll(scans, 0o755)
	if err := config.WriteExample(filepath.Join(dir, "config.toml")); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(filepath.Join(dir, "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n[[folder]]\npath = '" + scans + "'\nlabel = \"Scanner\"\n")
	f.Close()
	stop := startAgent(t, dir)
	var st localapi.Status
	_, out, _ := run(t, "status", "--json", "--data", dir)
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	status := map[string]bool{}
	for _, c := range st.Health.Checks {
		status[c.Name] = true
	}
	stop()
	_, out, _ = run(t, "doctor", "--json", "--data", dir)
	var rep health.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json: %v %q", err, out)
	}
	n := 0
	for _, c := range rep.Checks {
		switch c.Name {
		case checks.NameAgent, "config": // doctor's own: whether the agent runs, whether its file loads
			continue
		}
		n++
		if !status[c.Name] {
			t.Errorf("doctor's %s is not a check of the agent's status (status has %v)", c.Name, status)
		}
	}
	if n < 3 || !status[health.FolderCheckName("Scanner")] {
		t.Fatalf("compared %d checks; status %v", n, status)
	}
}
