package config

import (
	"strings"
	"testing"
)

func TestFolderVariables(t *testing.T) {
	cfg, err := Parse([]byte(`
[[folder]]
path = '%USERPROFILE%\Pictures\Camera Roll'
routing = "session"
[[folder]]
path = '~/Scans'
[[folder]]
path = '%public%\Pictures\Camera Roll'
label = "Shared camera"
`))
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Folders
	for i, want := range []struct {
		perUser, cameraRoll bool
		label, expanded     string
	}{
		{true, true, "Camera Roll", `C:\Users\drsmith\Pictures\Camera Roll`},
		{true, false, "Scans", `C:\Users\drsmith\Scans`},
		{false, false, "Shared camera", `C:\Users\Public\Pictures\Camera Roll`},
	} {
		got, err := f[i].Expand(`C:\Users\drsmith`, `C:\Users\Public`)
		if err != nil || got != want.expanded || f[i].PerUser() != want.perUser || f[i].CameraRoll() != want.cameraRoll || f[i].Label != want.label {
			t.Errorf("folder %d %q: expanded %q %v, per user %v, camera roll %v, label %q; want %+v",
				i, f[i].Path, got, err, f[i].PerUser(), f[i].CameraRoll(), f[i].Label, want)
		}
	}
	if got, _ := f[1].Expand("/home/gp", ""); got != "/home/gp/Scans" {
		t.Errorf("~ on Unix = %q", got)
	}
	if _, err := f[2].Expand("", ""); err == nil {
		t.Error("%PUBLIC% with no public folder expanded")
	}
}

func TestFolderVariablesRefused(t *testing.T) {
	for _, p := range []string{`%APPDATA%\Scans`, `%USERPROFILE%\%OTHER%\x`, `Scans\%USERPROFILE%`} {
		_, err := Parse([]byte("[[folder]]\npath = '" + p + "'\n"))
		if err == nil {
			t.Errorf("%s accepted", p)
			continue
		}
		if !strings.Contains(err.Error(), "%USERPROFILE%") {
			t.Errorf("%s: error does not say which variables work: %v", p, err)
		}
	}
}
