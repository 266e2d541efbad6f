package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApplyMergeKeepsCommentsAndAddsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	scans, camera := abs("/data/Scans"), abs("/other/Scans")
	m := Merge{RelayURL: "https://relay.example.test", Folders: []string{scans, camera, "relative\\x", ""}, HCMHost: true}
	skipped, err := ApplyMerge(path, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 1 || skipped[0] != "relative\\x" {
		t.Fatalf("skipped %q", skipped)
	}
	// Applying the same values again (a restart before they were deleted) changes nothing.
	first, _ := os.ReadFile(path)
	if _, err := ApplyMerge(path, m); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(path)
	if string(first) != string(again) {
		t.Fatalf("a second merge changed the file:\n%s", again)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.RelayURL != m.RelayURL || !c.HCM.Host || c.HCM.ServiceName != DefaultHCMService || len(c.Folders) != 2 {
		t.Fatalf("merged: %+v", c)
	}
	if c.Folders[0].Path != scans || c.Folders[0].Label != "Scans" || c.Folders[1].Label != "Scans (2)" || c.Folders[1].Routing != RoutingNHI {
		t.Fatalf("folders: %+v", c.Folders)
	}
	for _, keep := range []string{"# Lines starting with # are comments.", "# \"restart\" restarts HCM when it stops", "# [[folder]]"} {
		if !strings.Contains(string(again), keep) {
			t.Errorf("comment %q lost", keep)
		}
	}
}

func TestApplyMergeAddsHCMTableWhenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("byte_budget = 900000\n"), 0o644)
	if _, err := ApplyMerge(path, Merge{HCMHost: true}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil || !c.HCM.Host || c.ByteBudget != 900000 {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestApplyMergeRefusesToBreakTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("byte_budget = 900000\n"), 0o644)
	if _, err := ApplyMerge(path, Merge{RelayURL: "ftp://nope"}); err == nil {
		t.Fatal("an unusable relay URL was written")
	}
	if b, _ := os.ReadFile(path); string(b) != "byte_budget = 900000\n" {
		t.Fatalf("file changed: %q", b)
	}
}

// TestApplyMergeReplacesRelayURL: enrolling again with another relay replaces
// relay_url in place, keeping the file's comments.
func TestApplyMergeReplacesRelayURL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	for _, url := range []string{"https://relay.example.nz", "http://127.0.0.1:9"} {
		if _, err := ApplyMerge(path, Merge{RelayURL: url}); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	if strings.Count(string(b), "relay_url =") != 1 || !strings.Contains(string(b), `relay_url = "http://127.0.0.1:9"`) ||
		!strings.Contains(string(b), "# Watched folders") {
		t.Fatalf("second edit:\n%s", b)
	}
}
