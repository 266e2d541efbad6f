package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// TestPracticeCodeRollout is issue 20's rollout at practice scale with the real
// binaries: one practice code for 3 PCs enrols three agents (two with `clinicpro
// enrol`, one through the installer's ENROLCODE as `service run` applies it); a
// fourth PC is refused with a sentence that says why; one PC is revoked while the
// other two keep sending; an expired practice code is refused.
func TestPracticeCodeRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the relay and four agents")
	}
	bin := build(t, "clinicpro", ".")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim, err := alexsim.Start(ctx, "", alexsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := startRelayProc(t, sim, "", "")
	out := r.run(t, "practice", "add", "--facility", alexsim.DefaultFacility, "--name", "Healthier Care", "--pcs", "3", "--valid", "7d")
	m := regexp.MustCompile(`Practice (prc_\S+) .*\nPractice code: (\S+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("practice add printed %q", out)
	}
	practiceID, code := m[1], m[2]

	type pc struct{ data, inbox, clientID string }
	newPC := func() pc {
		data, err := os.MkdirTemp("", "cppc") // short: the agent's socket lives here
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(data) })
		inbox := filepath.Join(data, "inbox")
		os.MkdirAll(inbox, 0o755)
		return pc{data: data, inbox: inbox}
	}
	enrol := func(p *pc) (int, string) {
		c := exec.Command(bin, "enrol", "--json", "--data", p.data, "--relay", r.url, "--code", code)
		out, err := c.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		var res struct{ ClientID string }
		if err := json.Unmarshal(out, &res); err != nil || res.ClientID == "" {
			t.Fatalf("enrol --json printed %q", out)
		}
		p.clientID = res.ClientID
		return 0, string(out)
	}
	run := func(p pc) {
		f, _ := os.OpenFile(filepath.Join(p.data, "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("\n[[folder]]\npath = '" + p.inbox + "'\nlabel = \"Inbox\"\nrouting = \"nhi\"\n")
		f.Close()
		agent := exec.Command(bin, "run", "--data", p.data)
		var logs testutil.Buffer
		agent.Stdout, agent.Stderr = &logs, &logs
		if err := agent.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { agent.Process.Signal(syscall.SIGTERM); agent.Wait() })
	}

	pcs := []pc{newPC(), newPC(), newPC()}
	for i := 0; i < 2; i++ {
		if rc, out := enrol(&pcs[i]); rc != 0 {
			t.Fatalf("PC %d: enrol exited %d: %s", i+1, rc, out)
		}
		run(pcs[i])
	}
	// PC 3 gets the same code from the installer (ENROLCODE) and `service run`.
	writeRollout(t, pcs[2].data, `RelayURL = "`+r.url+`"`+"\n"+`EnrolCode = "`+code+`"`+"\n"+`WatchFolders = '`+pcs[2].inbox+`'`+"\n")
	serviceRun(t, bin, pcs[2].data)
	waitFor(t, "PC 3 enrolled by the installer's code", func() bool { st, ok := agentStatus(t, pcs[2].data); return ok && st.Enrolled })

	// A fourth PC beyond the three.
	fourth := newPC()
	rc, out := enrol(&fourth)
	if rc == 0 || !strings.Contains(out, "already enrolled every PC it was issued for") || strings.Contains(out, code) {
		t.Fatalf("a fourth PC: exit %d, %s", rc, out)
	}

	drop := func(p pc, name string, seed int) {
		os.WriteFile(filepath.Join(p.inbox, "ZZZ0016 "+name+".jpg"), smallPhoto(t, seed), 0o644)
	}
	stored := func(names ...string) func() bool {
		return func() bool {
			have := map[string]bool{}
			for _, d := range sim.Documents() {
				have[d.Title] = true
			}
			for _, n := range names {
				if !have[n+".tif"] {
					return false
				}
			}
			return true
		}
	}
	for i, p := range pcs {
		drop(p, fmt.Sprintf("pc%d-first", i+1), 100+i)
	}
	waitFor(t, "a photo from each of the three PCs in ALEX", stored("pc1-first", "pc2-first", "pc3-first"))

	list := r.run(t, "practice", "list")
	if !strings.Contains(list, practiceID) || !strings.Contains(list, "3 of 3") || !strings.Contains(list, pcs[0].clientID) {
		t.Fatalf("practice list:\n%s", list)
	}
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, pcs[0].clientID) && strings.Contains(line, " - ") {
			t.Errorf("a PC that fetched tokens has no last-seen time: %s", line)
		}
	}

	// PC 2 revoked; PCs 1 and 3 go on.
	r.run(t, "connector", "revoke", pcs[1].clientID)
	drop(pcs[1], "pc2-after-revoke", 200)
	drop(pcs[0], "pc1-after-revoke", 201)
	drop(pcs[2], "pc3-after-revoke", 202)
	waitFor(t, "PCs 1 and 3 still sending after PC 2 was revoked", stored("pc1-after-revoke", "pc3-after-revoke"))
	waitFor(t, "PC 2 to say its credentials were refused", func() bool {
		st, ok := agentStatus(t, pcs[1].data)
		return ok && st.Health.State != "ok"
	})
	if stored("pc2-after-revoke")() {
		t.Fatal("a revoked PC's photo reached ALEX")
	}

	// An expired practice code.
	out = r.run(t, "practice", "add", "--facility", alexsim.DefaultFacility, "--name", "Late", "--pcs", "2", "--valid", "1s")
	added := time.Now()
	code = regexp.MustCompile(`Practice code: (\S+)`).FindStringSubmatch(out)[1]
	waitFor(t, "the one-second code's validity to pass", func() bool { return time.Since(added) > 1500*time.Millisecond })
	late := newPC()
	rc, lateOut := enrol(&late)
	if rc == 0 || !strings.Contains(lateOut, "expired") {
		t.Fatalf("an expired practice code: exit %d, %s", rc, lateOut)
	}
	if !strings.Contains(lateOut, "ask the relay operator for a new one") {
		t.Fatalf("expired code: %s", lateOut)
	}
}
