package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
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

// TestPermissiveSearchFlag runs the binary both ways: by default an unfiltered
// DocumentReference search is refused as real ALEX refuses it; -permissive-search
// answers it.
func TestPermissiveSearchFlag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "alexsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		flags []string
		want  int
	}{{nil, http.StatusForbidden}, {[]string{"-permissive-search"}, http.StatusOK}} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		srv := exec.CommandContext(ctx, bin, append([]string{"serve", "-port", "0"}, tc.flags...)...)
		stderr, _ := srv.StderrPipe()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		var root string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "fhir_base="); ok {
				root = strings.TrimSuffix(strings.Fields(rest)[0], "/FHIR")
				break
			}
		}
		go func() { _, _ = io.Copy(io.Discard, stderr) }()
		got := searchStatus(t, root)
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
		cancel()
		if got != tc.want {
			t.Errorf("flags %v: unfiltered search answered %d, want %d", tc.flags, got, tc.want)
		}
	}
}

func searchStatus(t *testing.T, root string) int {
	t.Helper()
	resp, err := http.PostForm(root+alexsim.TokenPath, url.Values{"grant_type": {"client_credentials"},
		"client_id": {alexsim.DefaultClientID}, "client_secret": {alexsim.DefaultClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, root+"/FHIR/DocumentReference?identifier=k-1", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("mt-facilityid", alexsim.DefaultFacility)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
