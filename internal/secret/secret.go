// Package secret keeps the connector's relay credentials on disk, protected at rest:
// with DPAPI (machine scope) on Windows, so the file is useless on another PC, and as
// a 0600 file on Linux. The configuration file never holds the secret, so it can be
// read, copied into a diagnostics bundle or emailed without leaking it.
package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the credentials file inside the data directory.
const FileName = "connector.secret"

// Credentials are what enrolment returned and the agent needs to call the relay.
type Credentials struct {
	RelayURL string `json:"relayUrl"`
	ClientID string `json:"clientId"`
	Secret   string `json:"secret"`
	Facility string `json:"facility"`
}

// ErrNotEnrolled means no credentials are stored yet.
var ErrNotEnrolled = errors.New("this PC is not enrolled with the ClinicPro relay: run `clinicpro enrol --relay URL --code CODE` as an administrator")

// Store reads and writes the credentials file in one directory.
type Store struct{ path string }

// NewStore returns the store for dataDir.
func NewStore(dataDir string) *Store { return &Store{path: filepath.Join(dataDir, FileName)} }

// Path is the credentials file, for messages that tell a person where to look.
func (s *Store) Path() string { return s.path }

// Save protects and writes c, replacing any earlier credentials atomically so a
// crash mid-write never leaves the agent with half a secret.
func (s *Store) Save(c Credentials) error {
	plain, err := json.Marshal(c)
	if err != nil {
		return err
	}
	sealed, err := protect(plain)
	clear(plain)
	if err != nil {
		return fmt.Errorf("could not protect the relay credentials with the operating system's key store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("could not write the credentials file (run as administrator or root): %w", err)
	}
	_, err = f.Write(sealed)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Chmod again in case the file already existed with looser permissions.
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("could not store the relay credentials: %w", err)
	}
	return nil
}

// Load returns the stored credentials, or ErrNotEnrolled.
func (s *Store) Load() (Credentials, error) {
	sealed, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return Credentials{}, ErrNotEnrolled
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("could not read the relay credentials (the agent must run as LocalSystem or root): %w", err)
	}
	plain, err := unprotect(sealed)
	if err != nil {
		return Credentials{}, fmt.Errorf("the stored relay credentials cannot be opened on this PC (copied from another PC?): enrol again with `clinicpro enrol`: %w", err)
	}
	defer clear(plain)
	var c Credentials
	if err := json.Unmarshal(plain, &c); err != nil || c.ClientID == "" || c.Secret == "" {
		return Credentials{}, errors.New("the stored relay credentials are damaged: enrol again with `clinicpro enrol`")
	}
	return c, nil
}
