package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/demo"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// Binaries built once for every test in this package.
var binDir string

// printedEnrol holds, by code, the enrol command `clinicpro-relay connector add`
// printed for the practice to run.
var printedEnrol sync.Map

// enrolPrinted runs exactly the command the relay printed for code, with the relay's
// address in place of <relay-url>, against the data folder data.
func enrolPrinted(t testing.TB, bin, relayURL, code, data string) (string, error) {
	t.Helper()
	line, _ := printedEnrol.Load(code)
	printed, _ := line.(string)
	args := strings.Fields(strings.ReplaceAll(printed, "<relay-url>", relayURL))
	if len(args) < 2 || args[0] != "clinicpro" {
		t.Fatalf("printed enrol command %q", printed)
	}
	out, err := exec.Command(bin, append(args[1:], "--data", data)...).CombinedOutput()
	return string(out), err
}

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "cpbin")
	if err != nil {
		panic(err)
	}
	binDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

func build(t testing.TB, name, pkg string) string {
	t.Helper()
	out := filepath.Join(binDir, name)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	c := exec.Command("go", "build", "-o", out, pkg)
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// relay starts the real clinicpro-relay against sim and returns its URL and a fresh
// enrolment code.
func relay(t testing.TB, sim *alexsim.Server) (string, string) {
	return startRelay(t, sim, alexsim.DefaultFacility, "", "")
}

// startRelay is relay with a connector for facility and extra relay.toml lines: top
// before the [alex] table, alexExtra inside it.
func startRelay(t testing.TB, sim *alexsim.Server, facility, top, alexExtra string) (string, string) {
	r := startRelayProc(t, sim, top, alexExtra)
	out := r.run(t, "connector", "add", "--facility", facility, "--name", "Healthier Care")
	code := regexp.MustCompile(`Enrolment code: ([0-9A-Z]{5}-[0-9A-Z]{5})`).FindStringSubmatch(out)
	if code == nil {
		t.Fatalf("no code in %q", out)
	}
	if line := regexp.MustCompile(`(?m)^\s*(clinicpro enrol .*)$`).FindStringSubmatch(out); line != nil {
		printedEnrol.Store(code[1], line[1])
	}
	return r.url, code[1]
}

// relayProc is the real clinicpro-relay binary serving on loopback in front of
// alexsim, with its configuration for the operator's commands.
type relayProc struct {
	bin, cfg, url string
	env           []string
}

// run runs an operator's command (practice add, connector revoke...) against the
// relay's store and returns what it printed.
func (r *relayProc) run(t testing.TB, args ...string) string {
	t.Helper()
	c := exec.Command(r.bin, append([]string{"--config", r.cfg}, args...)...)
	c.Env = r.env
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("clinicpro-relay %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// startRelayProc starts the relay with extra relay.toml lines (top before the [alex]
// table, alexExtra inside it) and no connector.
func startRelayProc(t testing.TB, sim *alexsim.Server, top, alexExtra string) *relayProc {
	bin := build(t, "clinicpro-relay", "../clinicpro-relay")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "relay.toml")
	os.WriteFile(cfg, []byte(`listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
data_dir = "`+filepath.Join(dir, "data")+`"
`+top+`
[alex]
base_url = "`+sim.BaseURL+`"
token_url = "`+sim.TokenURL+`"
client_id = "`+alexsim.DefaultClientID+`"
`+alexExtra+`
`), 0o600)
	r := &relayProc{bin: bin, cfg: cfg, env: append(os.Environ(), "CLINICPRO_ALEX_CLIENT_SECRET="+alexsim.DefaultClientSecret)}
	srv := exec.Command(bin, "--config", cfg, "serve")
	srv.Env = r.env
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var l struct{ Msg, Listen string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "relay serving" {
				addr <- l.Listen
			}
		}
	}()
	select {
	case a := <-addr:
		r.url = "http://" + a
	case <-time.After(2 * time.Minute):
		t.Fatal("relay did not start")
	}
	return r
}

func photo(t *testing.T, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 1200, 900))
	for y := 0; y < 900; y++ {
		for x := 0; x < 1200; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / 1200), uint8(y * 255 / 900), uint8((x*y + seed) % 256), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, 2*time.Minute, 100*time.Millisecond, cond)
}

// enrolledStack starts alexsim and the real relay (both ended with ctx or the test),
// enrols a fresh data folder in a short temporary path (the unix socket lives there)
// and adds one watched folder, "inbox", routed by the NHI in file names. The
// stability window is cut to 200 ms; edits are further old, new pairs for config.toml.
func enrolledStack(ctx context.Context, t *testing.T, bin, prefix string, edits ...string) (sim *alexsim.Server, data, watched string) {
	t.Helper()
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	relayURL, code := relay(t, sim)
	data, err = os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	if out, err := enrolPrinted(t, bin, relayURL, code, data); err != nil || !strings.Contains(out, alexsim.DefaultFacility) {
		t.Fatalf("the enrol command the relay printed: %v %s", err, out)
	}
	watched = filepath.Join(data, "inbox")
	os.MkdirAll(watched, 0o755)
	cfgPath := filepath.Join(data, "config.toml")
	cfg, _ := os.ReadFile(cfgPath)
	edits = append([]string{`stability_window = "1s"`, `stability_window = "200ms"`}, edits...)
	for i := 0; i+1 < len(edits); i += 2 {
		cfg = bytes.Replace(cfg, []byte(edits[i]), []byte(edits[i+1]), 1)
	}
	cfg = append(cfg, "\n[[folder]]\npath = '"+watched+"'\nlabel = \"Inbox\"\nrouting = \"nhi\"\n"...)
	os.WriteFile(cfgPath, cfg, 0o644)
	return sim, data, watched
}

// TestEndToEnd runs the real clinicpro binary against the real relay and alexsim:
// enrol, run, a watched folder, send, queue, status and a web launch, then checks
// that nothing it printed or logged names the patient.
// TestAgentRefusesADataFolderSomeoneElseOwns: a local user who creates the data folder
// (or config.toml) before the agent first runs must not get the agent, as root, to read
// their configuration. The agent stops with a sentence that says what to do.
func TestAgentRefusesADataFolderSomeoneElseOwns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to hand a folder to another user; the rule is tested in internal/datadir")
	}
	bin := build(t, "clinicpro", ".")
	data := t.TempDir()
	os.WriteFile(filepath.Join(data, "config.toml"), []byte("relay_url = \"https://evil.example\"\n"), 0o644)
	if err := os.Chown(filepath.Join(data, "config.toml"), 4242, 4242); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(bin, "run", "--data", data)
	out, err := c.CombinedOutput()
	if err == nil {
		t.Fatalf("the agent ran on a folder another user planted:\n%s", out)
	}
	for _, want := range []string{"config.toml is owned by uid:4242", "will not use it", "reinstall"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "queue.db")); err == nil {
		t.Error("the agent opened its queue in the refused folder")
	}
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three programs")
	}
	bin := build(t, "clinicpro", ".")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	relayURL, code := relay(t, sim)

	data, err := os.MkdirTemp("", "cpe2e") // short: the unix socket lives here
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(data)
	var printed testutil.Buffer
	cli := func(args ...string) (int, string) {
		t.Helper()
		c := exec.Command(bin, append(args, "--data", data)...)
		var out testutil.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		printed.Write([]byte(out.String()))
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}

	if rc, out := cli("enrol", "--relay", relayURL, "--code", code); rc != 0 || !strings.Contains(out, alexsim.DefaultFacility) {
		t.Fatalf("enrol: %d %s", rc, out)
	}
	watched := filepath.Join(data, "inbox")
	os.MkdirAll(watched, 0o755)
	f, _ := os.OpenFile(filepath.Join(data, "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("\n[[folder]]\npath = '" + watched + "'\nlabel = \"Inbox\"\nrouting = \"nhi\"\n")
	f.Close()
	// stability_window and scan_interval stay at their defaults: the product's own.

	// The web launch listener comes from the configuration, as it must for the
	// installer's plain `service run`; top-level keys go before the first table.
	launchAddr := freePort(t)
	cfgPath := filepath.Join(data, "config.toml")
	cfgText, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append([]byte("launch_listen = \""+launchAddr+"\"\n"), cfgText...), 0o644)
	agent := exec.Command(bin, "run", "--data", data)
	var agentOut testutil.Buffer
	agent.Stdout, agent.Stderr = &agentOut, &agentOut
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = agent.Wait(); close(exited) }()
	defer func() {
		agent.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			agent.Process.Kill()
		}
	}()
	api := localapi.Dial(localapi.DefaultAddress(data))
	defer api.Close()
	waitFor(t, "the agent's local API", func() bool { _, err := api.Status(ctx); return err == nil })

	// A photo named with an NHI arrives in the watched folder.
	os.WriteFile(filepath.Join(watched, "ZZZ0016 knee.jpg"), photo(t, 1), 0o644)
	waitFor(t, "the watched photo in ALEX", func() bool { return len(sim.Documents()) == 1 })
	waitFor(t, "the original moved to Sent", func() bool {
		_, err := os.Stat(filepath.Join(watched, "Sent", "ZZZ0016 knee.jpg"))
		return err == nil
	})
	doc := sim.Documents()[0]
	if doc.ContentType != "image/tiff" || doc.Size > 1_000_000 || doc.PatientID != sim.PatientID(alexsim.DefaultFacility, "ZZZ0016") {
		t.Fatalf("stored %+v", doc)
	}

	// `clinicpro send` goes through the agent's local API.
	pdf := filepath.Join(data, "referral.pdf")
	os.WriteFile(pdf, demo.PDF(1), 0o644)
	rc, out := cli("send", filepath.Join(data, "..", filepath.Base(data), "referral.pdf"), "--nhi", "ZZZ0016", "--title", "Referral letter")
	if rc != 0 {
		t.Fatalf("send: %d %s", rc, out)
	}
	waitFor(t, "the sent PDF in ALEX, or parked", func() bool {
		if len(sim.Documents()) == 2 {
			return true
		}
		items, _ := api.Queue(ctx)
		for _, it := range items {
			if it.State == localapi.StateParked {
				t.Fatalf("send parked: %s", it.Reason)
			}
		}
		return false
	})

	// ALEX holding the document comes before the read-back and "sent": poll.
	waitFor(t, "both items sent in `queue list`", func() bool {
		rc, out = cli("queue", "list", "--json")
		var items []localapi.Item
		if rc != 0 || json.Unmarshal([]byte(out), &items) != nil || len(items) != 2 {
			t.Fatalf("queue list: %d %s", rc, out)
		}
		for _, it := range items {
			if it.State != localapi.StateSent {
				return false
			}
		}
		return true
	})
	waitFor(t, "a healthy status", func() bool { rc, _ := cli("status"); return rc == 0 })
	if _, out := cli("status"); !strings.Contains(out, "2 sent today") {
		t.Fatalf("status:\n%s", out)
	}

	// A web launch reaches a running tray (here: an event stream) and says so.
	ectx, ecancel := context.WithTimeout(ctx, time.Minute)
	defer ecancel()
	events, err := api.Events(ectx)
	if err != nil {
		t.Fatal(err)
	}
	lc, sig, err := sim.MintLaunch(alexsim.DefaultFacility, "ZZZ0016", "")
	if err != nil {
		t.Fatal(err)
	}
	page := func(c, s string) (int, string) {
		resp, err := http.Get("http://" + launchAddr + "/launch?" + url.Values{"context": {c}, "signature": {s}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := page(lc, sig); st != 200 || !strings.Contains(body, "has opened") || strings.Contains(body, "ZZZ0016") {
		t.Fatalf("launch page: %d %s", st, body)
	}
	// The event names only the session; the tray reads the patient over its own
	// connection, which the agent answers only for the user whose browser opened it.
	for got := false; !got; {
		select {
		case e := <-events:
			if e.Type == localapi.EventLaunch && e.Session != nil {
				s, err := api.Session(ectx, e.Session.ID)
				got = err == nil && s.Banner.NHI == "ZZZ0016"
				if !got || e.Session.Banner.NHI != "" {
					t.Fatalf("launch event %+v, session %+v, %v", e.Session, s, err)
				}
			}
		case <-ectx.Done():
			t.Fatal("no launch event")
		}
	}
	if st, body := page(lc, sig[:len(sig)-2]+"AA"); st != http.StatusForbidden || !strings.Contains(body, "could not be verified") {
		t.Fatalf("tampered launch page: %d %s", st, body)
	}

	// What the running agent keeps (queue and its write-ahead log with NHIs, the spool,
	// logs, credentials, configuration) is private to its account: folders 0700, files
	// 0600. The test's own watched folder and the file it sent are not the agent's.
	checked := 0
	filepath.WalkDir(data, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(data, p)
		if rel == "inbox" || rel == "referral.pdf" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, _ := d.Info()
		want := os.FileMode(0o600)
		switch {
		case d.IsDir():
			want = 0o700
		case !d.Type().IsRegular():
			return nil // the API socket: unreachable inside the 0700 folder
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s is %o, want %o", rel, fi.Mode().Perm(), want)
		}
		checked++
		return nil
	})
	if checked < 6 {
		t.Errorf("only %d entries in the data folder were checked", checked)
	}
	for _, f := range []string{"queue.db-wal", "spool", "logs/agent.log", "connector.secret", "config.toml"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Errorf("expected %s in the data folder to check its mode: %v", f, err)
		}
	}

	agent.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("agent exited with %v:\n%s", exitErr, agentOut.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("agent did not stop on SIGTERM")
	}
	logFile, _ := os.ReadFile(filepath.Join(data, "logs", "agent.log"))
	all := agentOut.String() + string(logFile) + printed.String()
	for _, leak := range []string{"ZZZ0016", "TESTING", sim.PatientID(alexsim.DefaultFacility, "ZZZ0016"), lc, sig} {
		if strings.Contains(all, leak) {
			t.Errorf("output or log contains a patient identifier or launch token (%d chars)", len(leak))
		}
	}
}
