package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/rollout"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// serviceRun starts `clinicpro service run` (the installer's command line) on data
// and returns a stop function that ends it as the service manager would and
// reports how it exited.
func serviceRun(t *testing.T, bin, data string) func() error {
	t.Helper()
	cmd := exec.Command(bin, "service", "run", "--data", data)
	var out testutil.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			return <-exited
		}
	}
	t.Cleanup(func() { stop() })
	return stop
}

func agentStatus(t *testing.T, data string) (localapi.Status, bool) {
	api := localapi.Dial(localapi.DefaultAddress(data))
	defer api.Close()
	st, err := api.Status(context.Background())
	return st, err == nil
}

func writeRollout(t *testing.T, data, text string) {
	t.Helper()
	os.MkdirAll(data, 0o755)
	if err := os.WriteFile(filepath.Join(data, "rollout.toml"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The MSI's contract: `service run` comes up with no configuration, no
// credentials and no relay to talk to; it merges the installer's values, keeps them
// while the relay cannot be reached, enrols with them once it can and then forgets
// them; a refused code is dropped and explained by doctor.
func TestServiceRunAppliesRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent and the relay")
	}
	bin := build(t, "clinicpro", ".")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	relayURL, code := relay(t, sim)

	data, err := os.MkdirTemp("", "cproll") // short: the unix socket lives here
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(data)
	inbox := filepath.Join(data, "inbox")
	os.MkdirAll(inbox, 0o755)
	rolloutFile := filepath.Join(data, "rollout.toml")

	// (1) Nothing but the values, and the relay they name is not there.
	dead := "http://" + freePort(t)
	writeRollout(t, data, `RelayURL = "`+dead+`"`+"\n"+`EnrolCode = "`+code+`"`+"\n"+`WatchFolders = '`+inbox+`'`+"\n")
	stop := serviceRun(t, bin, data)
	var st localapi.Status
	waitFor(t, "service run to answer with no relay", func() bool { var ok bool; st, ok = agentStatus(t, data); return ok })
	if st.Enrolled {
		t.Fatal("enrolled against a relay that is not there")
	}
	cfg, err := config.Load(filepath.Join(data, "config.toml"))
	if err != nil || cfg.RelayURL != dead || len(cfg.Folders) != 1 || cfg.Folders[0].Path != inbox {
		t.Fatalf("values not merged: %+v %v", cfg, err)
	}
	if _, err := os.Stat(rolloutFile); err != nil {
		t.Fatal("the values were forgotten although enrolment could not be tried")
	}
	if err := stop(); err != nil {
		t.Fatalf("service run did not stop cleanly: %v", err)
	}

	// (2) The relay is reachable at the next start: enrolled, values gone.
	writeRollout(t, data, `RelayURL = "`+relayURL+`"`+"\n"+`EnrolCode = "`+code+`"`+"\n"+`WatchFolders = '`+inbox+`'`+"\n")
	stop = serviceRun(t, bin, data)
	waitFor(t, "the agent to come up enrolled", func() bool { var ok bool; st, ok = agentStatus(t, data); return ok && st.Enrolled })
	if st.Facility != alexsim.DefaultFacility {
		t.Fatalf("facility %q", st.Facility)
	}
	if _, err := os.Stat(rolloutFile); !os.IsNotExist(err) {
		t.Fatal("the values are still there after enrolment")
	}
	cfg, _ = config.Load(filepath.Join(data, "config.toml"))
	if cfg.RelayURL != relayURL || len(cfg.Folders) != 1 {
		t.Fatalf("config after enrolment: %+v", cfg)
	}
	stop()

	// (3) A refused code (this one is spent) on a PC that is not enrolled.
	other, err := os.MkdirTemp("", "cproll")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(other)
	writeRollout(t, other, `RelayURL = "`+relayURL+`"`+"\n"+`EnrolCode = "`+code+`"`+"\n")
	serviceRun(t, bin, other)
	waitFor(t, "the refusal in status", func() bool {
		st, ok := agentStatus(t, other)
		if !ok {
			return false
		}
		for _, c := range st.Health.Checks {
			if c.Name == rollout.CheckEnrol {
				return true
			}
		}
		return false
	})
	if _, err := os.Stat(filepath.Join(other, "rollout.toml")); !os.IsNotExist(err) {
		t.Fatal("the refused values are still there")
	}
	out, _ := exec.Command(bin, "doctor", "--json", "--data", other).Output()
	var rep health.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	found := false
	for _, c := range rep.Checks {
		if c.Name == rollout.CheckEnrol {
			found = c.State == health.Offline && c.Fix == rollout.FixEnrolRefused && !strings.Contains(c.Detail, code)
		}
	}
	if !found {
		t.Fatalf("doctor does not explain the refused code:\n%s", out)
	}
}
