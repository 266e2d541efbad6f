package main

import (
	"bufio"
	"context"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeAndLaunch builds the binary, runs it on a free port and asks it for a
// launch URL through the launch subcommand, as a developer would.
func TestServeAndLaunch(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "alexsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve", "-port", "0", "-launch", "ZZZ0016")
	stderr, _ := srv.StderrPipe()
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Signal(os.Interrupt); _ = srv.Wait() }()

	// The log line names the FHIR base; the launch URL follows on stdout.
	var root string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "fhir_base="); ok {
			root = strings.TrimSuffix(strings.Fields(rest)[0], "/FHIR")
			break
		}
	}
	if root == "" {
		t.Fatal("no listening line on stderr")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "clinicpro://launch?context=") {
		t.Fatalf("startup launch URL %q, %v", line, err)
	}

	out, err := exec.CommandContext(ctx, bin, "launch", "-url", root, "-nhi", "ZZZ00AC").CombinedOutput()
	if err != nil {
		t.Fatalf("launch: %v\n%s", err, out)
	}
	u, err := url.Parse(strings.TrimSpace(string(out)))
	if err != nil || u.Scheme != "clinicpro" || u.Query().Get("context") == "" || u.Query().Get("signature") == "" {
		t.Fatalf("launch printed %q", out)
	}
	if out, err := exec.CommandContext(ctx, bin, "launch", "-url", root, "-nhi", "ZAA0075").CombinedOutput(); err == nil {
		t.Fatalf("unknown patient launched: %s", out)
	}
}
