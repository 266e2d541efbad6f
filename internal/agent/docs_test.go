package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/config"
)

// TestRolloutCameraSectionMatchesTheCode holds docs/rollout.md's Camera section to
// what the agent does: its configuration block parses to a per-user Camera Roll
// "session" folder, and the interval and the Unassigned reason it quotes are the
// agent's own.
func TestRolloutCameraSectionMatchesTheCode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "rollout.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "## Photos taken with the Camera button")
	if i < 0 {
		t.Fatal("docs/rollout.md has no Camera section")
	}
	sec := doc[i:]
	sec = sec[:strings.Index(sec[3:], "\n## ")+3]
	block := regexp.MustCompile("(?s)```toml\n(.*?)```").FindStringSubmatch(sec)
	if block == nil {
		t.Fatal("the Camera section has no configuration block")
	}
	cfg, err := config.Parse([]byte(block[1]))
	if err != nil {
		t.Fatalf("the Camera section's configuration: %v", err)
	}
	f := cfg.Folders[0]
	if len(cfg.Folders) != 1 || !f.PerUser() || !f.CameraRoll() || f.Routing != config.RoutingSession || f.Label != "Camera Roll" {
		t.Fatalf("the Camera section configures %+v", cfg.Folders)
	}
	reason := strings.TrimSuffix(strings.SplitAfter(agent.ReasonNoWindow, ":")[0], ":")
	for _, want := range []string{fmt.Sprintf("every %d seconds", int(agent.UsersInterval.Seconds())), reason, `Camera Roll\Sent`} {
		if !strings.Contains(strings.Join(strings.Fields(sec), " "), want) {
			t.Errorf("the Camera section does not say %q", want)
		}
	}
}
