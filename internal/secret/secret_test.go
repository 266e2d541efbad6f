package secret_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/secret"
)

func TestRoundTripAndPermissions(t *testing.T) {
	dir := t.TempDir()
	s := secret.NewStore(dir)
	if _, err := s.Load(); !errors.Is(err, secret.ErrNotEnrolled) {
		t.Fatalf("empty store: err = %v, want ErrNotEnrolled", err)
	}
	want := secret.Credentials{RelayURL: "http://127.0.0.1:9", ClientID: "conn-1", Secret: "s3cr3t-value", Facility: "F2N060-E"}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil || got != want {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(s.Path())
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode = %v, %v; want 0600", fi.Mode().Perm(), err)
		}
	}
	// Replacing keeps one file and no temp leftovers.
	want.Secret = "rotated"
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	wantFiles := []string{secret.FileName}
	if runtime.GOOS == "windows" {
		wantFiles = []string{secret.KeyFileName, secret.FileName}
	}
	if !slices.Equal(names, wantFiles) {
		t.Fatalf("directory holds %v after a replace, want %v", names, wantFiles)
	}
	if got, _ := s.Load(); got.Secret != "rotated" {
		t.Fatalf("secret = %q after replace", got.Secret)
	}
}

func TestDamagedFileSaysEnrolAgain(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, secret.FileName), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := secret.NewStore(dir).Load()
	if err == nil || !strings.Contains(err.Error(), "clinicpro enrol") {
		t.Fatalf("err = %v, want advice to enrol again", err)
	}
}
