// Package secret keeps the connector's relay credentials on disk, protected at rest:
// on Windows with DPAPI (machine scope, so the file is useless on another PC) and a
// per-install random entropy, both files readable by SYSTEM and Administrators only,
// so a standard user of the PC can decrypt nothing; on Linux as a 0600 file. The configuration file never holds the secret, so it can be
// read, copied into a diagnostics bundle or emailed without leaking it.
package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/clinicpro/medtech-images/internal/datadir"
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
type Store struct{ dir, path string }

// NewStore returns the store for dataDir.
func NewStore(dataDir string) *Store {
	return &Store{dir: dataDir, path: filepath.Join(dataDir, FileName)}
}

// Path is the credentials file, for messages that tell a person where to look.
func (s *Store) Path() string { return s.path }

// Save protects and writes c, replacing any earlier credentials atomically so a
// crash mid-write never leaves the agent with half a secret.
func (s *Store) Save(c Credentials) error {
	plain, err := json.Marshal(c)
	if err != nil {
		return err
	}
	sealed, err := protect(plain, s.dir)
	clear(plain)
	if err != nil {
		return fmt.Errorf("could not protect the relay credentials with the operating system's key store: %w", err)
	}
	// Written with owner-only permissions (SYSTEM and Administrators on Windows) even
	// if the folder around it is not yet locked down, and replaced atomically so a
	// crash mid-write never leaves the agent with half a secret.
	if err := datadir.WritePrivate(s.path, sealed); err != nil {
		return fmt.Errorf("could not store the relay credentials (run as administrator or root): %w", err)
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
	plain, legacy, err := unprotect(sealed, s.dir)
	if err != nil {
		return Credentials{}, fmt.Errorf("the stored relay credentials cannot be opened on this PC (copied from another PC?): enrol again with `clinicpro enrol`: %w", err)
	}
	defer clear(plain)
	var c Credentials
	if err := json.Unmarshal(plain, &c); err != nil || c.ClientID == "" || c.Secret == "" {
		return Credentials{}, errors.New("the stored relay credentials are damaged: enrol again with `clinicpro enrol`")
	}
	if legacy {
		// Sealed by an older version with the fixed entropy: seal again with this
		// installation's own key. If that fails (not run as an administrator), the
		// next Load as the agent tries again; the credentials still work meanwhile.
		_ = s.Save(c)
	}
	return c, nil
}
