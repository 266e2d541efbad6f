package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/clinicpro/medtech-images/internal/relay/client"
)

// TestBinary runs the real binary: connector add prints a code, serve answers an
// enrolled agent's upload against alexsim, SIGTERM stops it cleanly.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "clinicpro-relay")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "relay.toml")
	os.WriteFile(cfg, []byte(`listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
data_dir = "`+filepath.Join(dir, "data")+`"
[alex]
base_url = "`+sim.BaseURL+`"
token_url = "`+sim.TokenURL+`"
client_id = "`+alexsim.DefaultClientID+`"
`), 0o600)
	env := append(os.Environ(), "CLINICPRO_ALEX_CLIENT_SECRET="+alexsim.DefaultClientSecret)
	runCmd := func(args ...string) string {
		t.Helper()
		c := exec.Command(bin, append([]string{"--config", cfg}, args...)...)
		c.Env = env
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := runCmd("connector", "add", "--facility", alexsim.DefaultFacility, "--name", "Healthier Care")
	code := regexp.MustCompile(`Enrolment code: ([0-9A-Z]{5}-[0-9A-Z]{5})`).FindStringSubmatch(out)
	if code == nil {
		t.Fatalf("no code in %q", out)
	}
	if list := runCmd("connector", "list"); !strings.Contains(list, "pending") || !strings.Contains(list, "Healthier Care") {
		t.Fatalf("list: %s", list)
	}

	srv := exec.Command(bin, "--config", cfg, "serve")
	srv.Env = env
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	var logs bytes.Buffer
	var logMu sync.Mutex
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			logs.Write(sc.Bytes())
			logs.WriteByte('\n')
			logMu.Unlock()
			var l struct{ Msg, Listen string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "relay serving" {
				addr <- l.Listen
			}
		}
	}()
	var url string
	select {
	case a := <-addr:
		url = "http://" + a
	case <-time.After(2 * time.Minute):
		t.Fatal("serve did not start")
	}
	creds, err := client.Enrol(ctx, url, strings.ToLower(code[1]))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(url, creds)
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 4000)...)
	res, err := c.UploadDocument(ctx, client.DocumentUpload{IdempotencyKey: "binary-test-0001", NHI: "ZZZ0016", Title: "Referral",
		ContentType: "application/pdf", Size: int64(len(body)), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	if docs := sim.Documents(); len(docs) != 1 || docs[0].ID != res.ID {
		t.Fatalf("ALEX holds %+v", docs)
	}
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve exited with %v", err)
	}
	logMu.Lock()
	text := logs.String()
	logMu.Unlock()
	for _, leak := range []string{"ZZZ0016", "TESTING", "1970-01-01", sim.PatientID(alexsim.DefaultFacility, "ZZZ0016"), alexsim.DefaultClientSecret, creds.Secret} {
		if strings.Contains(text, leak) {
			t.Errorf("serve's log contains a patient identifier or secret (%d chars)", len(leak))
		}
	}
	if !strings.Contains(text, `"op":"upload"`) {
		t.Errorf("no upload log line captured:\n%s", text)
	}
	if list := runCmd("connector", "list"); !strings.Contains(list, "active") {
		t.Fatalf("list after enrolment: %s", list)
	}

	// Plain HTTP on a public address is refused.
	c2 := exec.Command(bin, "--config", cfg, "serve")
	c2.Env = append(env, "CLINICPRO_RELAY_LISTEN=0.0.0.0:0")
	out2, err := c2.CombinedOutput()
	if err == nil || !strings.Contains(string(out2), "refusing plain HTTP") {
		t.Fatalf("public plain HTTP: %v %s", err, out2)
	}
}
