package rollout

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/BurntSushi/toml"
)

// File is a Source kept as rollout.toml (string values named like the registry's)
// in the agent's data directory: how the values reach the agent outside Windows,
// and what the tests use.
type File struct {
	Path string
}

func (f File) read() (map[string]string, bool, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	m := map[string]string{}
	if _, err := toml.Decode(string(b), &m); err != nil {
		return nil, false, fmt.Errorf("the rollout file %s is not valid (text values in quotes, e.g. RelayURL = \"https://...\"): %w", f.Path, err)
	}
	return m, true, nil
}

func (f File) Read() (Values, bool, error) {
	m, ok, err := f.read()
	if !ok || err != nil {
		return Values{}, false, err
	}
	return fromStrings(func(n string) string { return m[n] }), true, nil
}

func (f File) DropEnrolCode() error {
	m, ok, err := f.read()
	if !ok || err != nil {
		return err
	}
	delete(m, NameEnrolCode)
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(m); err != nil {
		return err
	}
	tmp := f.Path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, f.Path)
}

func (f File) Delete() error {
	err := os.Remove(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
