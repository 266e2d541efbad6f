package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/clinicpro/medtech-images/assets"
)

// FyneApp.toml is read by `fyne package`, not by the Go build, so nothing else
// would notice it drifting from the binary.
func TestFyneAppMetadataMatchesTheBinary(t *testing.T) {
	var meta struct {
		Details struct {
			Icon, Name, ID, Version string
			Build                   int
		}
	}
	root := filepath.Join("..", "..")
	if _, err := toml.DecodeFile(filepath.Join(root, "FyneApp.toml"), &meta); err != nil {
		t.Fatal(err)
	}
	d := meta.Details
	if d.ID != AppID || d.Name != "ClinicPro Images" || d.Version == "" || d.Build < 1 {
		t.Fatalf("FyneApp.toml details %+v", d)
	}
	icon, err := os.ReadFile(filepath.Join(root, d.Icon))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(icon, assets.AppIcon) {
		t.Fatal("FyneApp.toml's icon is not the embedded app icon")
	}
}
