// Package rollout applies what a silent install hands the agent (the MSI's
// RELAYURL, ENROLCODE, WATCHFOLDERS and HCMHOST properties, see docs/rollout.md
// "What the installer hands the agent"): merge them into config.toml, enrol once,
// then forget them. Where they come from sits behind Source: the registry key on
// Windows, a rollout.toml file in the data directory elsewhere (and in tests).
package rollout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
)

// Values are the rollout values; each is empty when the installer was not given it.
type Values struct {
	RelayURL     string
	EnrolCode    string
	WatchFolders []string
	HCMHost      bool
}

// Source holds the values until the agent has applied them.
type Source interface {
	// Read returns the values; found is false when there are none to apply.
	Read() (v Values, found bool, err error)
	// DropEnrolCode forgets the enrolment code alone (the relay refused it).
	DropEnrolCode() error
	// Delete forgets every value.
	Delete() error
}

// Names of the values, as the installer writes them.
const (
	NameRelayURL     = "RelayURL"
	NameEnrolCode    = "EnrolCode"
	NameWatchFolders = "WatchFolders"
	NameHCMHost      = "HCMHost"
)

// fromStrings builds Values from the installer's string values.
func fromStrings(get func(name string) string) Values {
	v := Values{RelayURL: strings.TrimSpace(get(NameRelayURL)), EnrolCode: strings.TrimSpace(get(NameEnrolCode)),
		HCMHost: strings.TrimSpace(get(NameHCMHost)) == "1"}
	for _, f := range strings.Split(get(NameWatchFolders), ";") {
		if f = strings.TrimSpace(f); f != "" {
			v.WatchFolders = append(v.WatchFolders, f)
		}
	}
	return v
}

// CheckEnrol is the health check that reports a refused rollout enrolment code.
const CheckEnrol = "rollout.enrol"

// FixEnrolRefused is doctor's sentence when the relay refused the installer's code.
const FixEnrolRefused = "Ask ClinicPro support for a new enrolment code and run `clinicpro enrol --relay URL --code CODE` as an administrator."

// Options are what Apply needs besides the Source.
type Options struct {
	ConfigFile string
	// DataDir keeps the reason a code was refused, for doctor.
	DataDir string
	// Enrolled is true when this PC already has credentials: the code is then ignored.
	Enrolled bool
	// Enrol exchanges the code for credentials and stores them.
	Enrol func(ctx context.Context, relayURL, code string) error
	// Refused reports whether an Enrol error means the relay turned the code down
	// (unknown, used, expired) rather than could not be asked.
	Refused func(error) bool
}

// Result says what Apply did.
type Result struct {
	Found    bool     // there were values
	Enrolled bool     // this call enrolled the PC
	Pending  bool     // the relay could not be asked: the values are kept for the next try
	Skipped  []string // watch folders that are not full paths
	Refusal  string   // why the relay refused the code, when it did
}

// Apply merges the values into the configuration, enrols if the PC is not enrolled
// and a code was given, then deletes the values. When the relay cannot be reached
// the values are kept (Pending) so a later Apply tries again; when it refuses the
// code, the code is dropped, the reason kept for doctor, and the rest deleted.
func Apply(ctx context.Context, src Source, o Options) (Result, error) {
	v, found, err := src.Read()
	if err != nil || !found {
		return Result{}, err
	}
	res := Result{Found: true}
	res.Skipped, err = config.ApplyMerge(o.ConfigFile, config.Merge{RelayURL: v.RelayURL, Folders: v.WatchFolders, HCMHost: v.HCMHost})
	if err != nil {
		return res, fmt.Errorf("the installer's settings could not be written to %s: %w", o.ConfigFile, err)
	}
	if v.EnrolCode != "" && !o.Enrolled {
		url := v.RelayURL
		if url == "" {
			if c, err := config.Load(o.ConfigFile); err == nil {
				url = c.RelayURL
			}
		}
		if url == "" {
			res.Refusal = "the installer gave an enrolment code but no relay address"
		} else if err := o.Enrol(ctx, url, v.EnrolCode); err != nil {
			if o.Refused == nil || !o.Refused(err) {
				res.Pending = true
				return res, nil
			}
			res.Refusal = err.Error()
		} else {
			res.Enrolled = true
		}
		if res.Refusal != "" {
			if err := src.DropEnrolCode(); err != nil {
				return res, err
			}
			if err := saveRefusal(o.DataDir, res.Refusal); err != nil {
				return res, err
			}
		}
	}
	if res.Enrolled || o.Enrolled {
		_ = os.Remove(refusalFile(o.DataDir))
	}
	return res, src.Delete()
}

func refusalFile(dir string) string { return filepath.Join(dir, "rollout-refused.txt") }

func saveRefusal(dir, reason string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(refusalFile(dir), []byte(reason+"\n"), 0o600)
}

// Checks reports a refused rollout code while the PC is still not enrolled; nil
// otherwise. The reason survives restarts so doctor can show it days later.
func Checks(dataDir string, enrolled bool) []health.Check {
	if enrolled {
		return nil
	}
	b, err := os.ReadFile(refusalFile(dataDir))
	if err != nil { // none saved, or unreadable: nothing to show
		return nil
	}
	return []health.Check{{Name: CheckEnrol, Title: "Enrolment from the installer", State: health.Offline, Critical: true,
		Detail: "The relay refused the installer's enrolment code: " + strings.TrimRight(strings.TrimSpace(string(b)), ".") + ".",
		Fix:    FixEnrolRefused}}
}
