//go:build windows

package secret

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

func seal(t *testing.T, plain, e []byte) []byte {
	t.Helper()
	var out windows.DataBlob
	if err := windows.CryptProtectData(blob(plain), nil, blob(e), 0, nil, flags, &out); err != nil {
		t.Fatal(err)
	}
	return take(&out)
}

// TestEntropyIsPerInstall: the blob cannot be opened with the old fixed entropy that
// anyone could read in the source, only with this installation's key; without the
// key (a copy of the secret alone) it cannot be opened at all.
func TestEntropyIsPerInstall(t *testing.T) {
	dir := t.TempDir()
	s := NewStore(dir)
	want := Credentials{RelayURL: "https://relay.test", ClientID: "conn-1", Secret: "s3cr3t", Facility: "F2N060-E"}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, KeyFileName))
	if err != nil || len(key) != keySize {
		t.Fatalf("key file: %d bytes, %v", len(key), err)
	}
	sealed, _ := os.ReadFile(s.Path())
	var out windows.DataBlob
	if err := windows.CryptUnprotectData(blob(sealed), nil, blob(legacyEntropy), 0, nil, flags, &out); err == nil {
		take(&out)
		t.Fatal("the credentials open with the fixed, public entropy")
	}
	other := NewStore(t.TempDir())
	if err := os.WriteFile(other.Path(), sealed, 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(filepath.Dir(other.Path()), KeyFileName), make([]byte, keySize), 0o600)
	if _, err := other.Load(); err == nil || !strings.Contains(err.Error(), "cannot be opened") {
		t.Fatalf("opened with another key: err = %v", err)
	}
}

func TestLegacyFileIsSealedAgain(t *testing.T) {
	dir := t.TempDir()
	want := Credentials{RelayURL: "https://relay.test", ClientID: "conn-1", Secret: "old", Facility: "F2N060-E"}
	plain, _ := json.Marshal(want)
	if err := os.WriteFile(filepath.Join(dir, FileName), seal(t, plain, legacyEntropy), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewStore(dir)
	got, err := s.Load()
	if err != nil || got != want {
		t.Fatalf("legacy Load = %+v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); err != nil {
		t.Fatalf("no per-install key after migrating: %v", err)
	}
	sealed, _ := os.ReadFile(s.Path())
	var out windows.DataBlob
	if windows.CryptUnprotectData(blob(sealed), nil, blob(legacyEntropy), 0, nil, flags, &out) == nil {
		take(&out)
		t.Fatal("still sealed with the fixed entropy after migrating")
	}
	if got, err := s.Load(); err != nil || got != want {
		t.Fatalf("Load after migrating = %+v, %v", got, err)
	}
}
