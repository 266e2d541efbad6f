package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

// buildExe builds an empty Windows program named name.exe, with the resources
// installer/winres.sh generates for name when withResources is set.
func buildExe(t *testing.T, name string, withResources bool) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	if withResources {
		c := exec.Command("../winres.sh", name)
		c.Env = append(os.Environ(), "OUT="+dir, "MANUFACTURER=ClinicPro Test Ltd")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("winres.sh: %v\n%s", err, out)
		}
	}
	exe := filepath.Join(t.TempDir(), name+".exe")
	c := exec.Command("go", "build", "-o", exe, ".")
	c.Dir = dir
	c.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

func TestGeneratedResourcesPass(t *testing.T) {
	testutil.NeedTool(t, "x86_64-w64-mingw32-windres", "apt-get install gcc-mingw-w64-x86-64")
	testutil.NeedTool(t, "git", "apt-get install git")
	want, err := exec.Command("../version.sh", "--file").Output()
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(want))
	for _, name := range []string{"clinicpro", "clinicpro-tray"} {
		exe := buildExe(t, name, true)
		if p := check(exe, version, "ClinicPro Test Ltd"); len(p) != 0 {
			t.Errorf("%s: %v", name, p)
		}
		r, _ := readResources(exe)
		if r.Strings["ProductName"] != "ClinicPro Images" || !strings.Contains(r.Strings["LegalCopyright"], "ClinicPro Test Ltd") {
			t.Errorf("%s: strings %v", name, r.Strings)
		}
		if p := check(exe, "9.9.9.9", "Someone Else"); len(p) != 2 {
			t.Errorf("%s: a wrong version and company gave %v, want both named", name, p)
		}
	}
}

func TestBareExeFails(t *testing.T) {
	exe := buildExe(t, "clinicpro", false)
	p := check(exe, "", "")
	if len(p) == 0 || !strings.Contains(strings.Join(p, ";"), "no .rsrc section") {
		t.Fatalf("an exe without resources: %v", p)
	}
}

func TestJudgeNamesWhatIsMissing(t *testing.T) {
	good := Resources{FileVersion: "0.1.26337.922", HasIcon: true, Strings: map[string]string{
		"CompanyName": "ClinicPro", "LegalCopyright": "Copyright (C) 2026 ClinicPro", "ProductName": "ClinicPro Images",
		"FileDescription": "x", "ProductVersion": "0.1.26337.922 (abc)", "FileVersion": "0.1.26337.922", "OriginalFilename": "clinicpro.exe"},
		Manifest: `<supportedOS Id="` + win10 + `"/><dpiAwareness>PerMonitorV2</dpiAwareness><requestedExecutionLevel level="asInvoker"/><longPathAware>true</longPathAware>`}
	if p := judge(good, "clinicpro.exe", "0.1.26337.922", "ClinicPro"); len(p) != 0 {
		t.Fatalf("good resources: %v", p)
	}
	for name, tc := range map[string]struct {
		change func(*Resources)
		want   string
	}{
		"0.0.0.0":        {func(r *Resources) { r.FileVersion = "0.0.0.0"; r.Strings["FileVersion"] = "0.0.0.0" }, "not the build's"},
		"no company":     {func(r *Resources) { delete(r.Strings, "CompanyName") }, "no CompanyName"},
		"no copyright":   {func(r *Resources) { r.Strings["LegalCopyright"] = " " }, "no LegalCopyright"},
		"no manifest":    {func(r *Resources) { r.Manifest = "" }, "no manifest"},
		"system DPI":     {func(r *Resources) { r.Manifest = strings.Replace(r.Manifest, "PerMonitorV2", "system", 1) }, "PerMonitorV2"},
		"elevates":       {func(r *Resources) { r.Manifest = strings.Replace(r.Manifest, "asInvoker", "requireAdministrator", 1) }, "asInvoker"},
		"short paths":    {func(r *Resources) { r.Manifest = strings.Replace(r.Manifest, ">true<", ">false<", 1) }, "longPathAware"},
		"no Windows 10":  {func(r *Resources) { r.Manifest = strings.Replace(r.Manifest, win10, "{x}", 1) }, "supportedOS"},
		"no icon":        {func(r *Resources) { r.HasIcon = false }, "no icon"},
		"renamed":        {func(r *Resources) { r.Strings["OriginalFilename"] = "other.exe" }, "OriginalFilename"},
		"string differs": {func(r *Resources) { r.Strings["FileVersion"] = "1.0" }, "differs"},
	} {
		r := good
		r.Strings = map[string]string{}
		for k, v := range good.Strings {
			r.Strings[k] = v
		}
		tc.change(&r)
		if p := judge(r, "clinicpro.exe", "", ""); !strings.Contains(strings.Join(p, ";"), tc.want) {
			t.Errorf("%s: %v, want a problem naming %q", name, p, tc.want)
		}
	}
}
