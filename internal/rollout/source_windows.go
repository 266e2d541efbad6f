package rollout

import (
	"errors"

	"golang.org/x/sys/windows/registry"
)

// Key is the MSI's rollout key under HKLM (64-bit view).
const Key = `Software\ClinicPro\Rollout`

// System is where the MSI leaves the values: HKLM\Software\ClinicPro\Rollout.
func System(dataDir string) Source { return Registry{Root: registry.LOCAL_MACHINE, Path: Key} }

// Registry is a Source kept as REG_SZ values of one registry key.
type Registry struct {
	Root registry.Key
	Path string
}

func (r Registry) Read() (Values, bool, error) {
	k, err := registry.OpenKey(r.Root, r.Path, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if errors.Is(err, registry.ErrNotExist) {
		return Values{}, false, nil
	}
	if err != nil {
		return Values{}, false, err
	}
	defer k.Close()
	var firstErr error
	v := fromStrings(func(name string) string {
		s, _, err := k.GetStringValue(name)
		if err != nil && !errors.Is(err, registry.ErrNotExist) && firstErr == nil {
			firstErr = err
		}
		return s
	})
	return v, firstErr == nil, firstErr
}

func (r Registry) DropEnrolCode() error {
	k, err := registry.OpenKey(r.Root, r.Path, registry.SET_VALUE|registry.WOW64_64KEY)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer k.Close()
	if err := k.DeleteValue(NameEnrolCode); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return err
	}
	return nil
}

func (r Registry) Delete() error {
	err := registry.DeleteKey(r.Root, r.Path)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	return err
}
