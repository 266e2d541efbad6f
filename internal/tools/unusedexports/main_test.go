package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// module writes a small module: files maps a path to its source.
func module(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	files["go.mod"] = "module example.test/m\n\ngo 1.22\n"
	for p, src := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var sample = map[string]string{
	"internal/a/a.go": `package a

// Used is called by b.
func Used() int { return homeOnly() + HomeValue }

// HomeOnly is called only here: it should not be exported.
func HomeOnly() int { return 1 }

func homeOnly() int { return HomeOnly() }

// HomeValue is a limit used at home: a contract, kept.
const HomeValue = 3

// Dead is used by nothing at all.
const Dead = 4

// Result is what New returns: callers never spell it.
type Result struct{ N int }

func New() *Result { return &Result{} }

// Tested is used by a's own tests only.
func Tested() {}

// Dotted is used by an external test through a dot import.
func Dotted() {}

// Thing has methods.
type Thing struct{}

func (Thing) Called()     {}
func (Thing) NeverCalled() {}
func (Thing) String() string { return "" }
func (Thing) ViaIface()   {}
`,
	"internal/a/a_test.go": `package a

import "testing"

func TestTested(t *testing.T) { Tested() }
`,
	"internal/a/ext_test.go": `package a_test

import (
	"testing"

	. "example.test/m/internal/a"
)

func TestDotted(t *testing.T) { Dotted() }
`,
	"internal/b/b.go": `package b

import "example.test/m/internal/a"

type viaIface interface{ ViaIface() }

func Use() { _ = a.Used(); _ = a.New(); var t a.Thing; t.Called() }
`,
	"cmd/x/main.go": `package main

import "example.test/m/internal/b"

func Exported() {}

func main() { b.Use() }
`,
}

func keys(ds []decl) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.key())
	}
	sort.Strings(out)
	return out
}

// TestFindsWhatNothingUses: the rule, case by case: only HomeOnly, the dead
// constant and the method nothing calls are reported; cmd/ is not checked.
func TestFindsWhatNothingUses(t *testing.T) {
	got, err := Find(module(t, sample))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"internal/a.Dead", "internal/a.HomeOnly", "internal/a.Thing.NeverCalled"}
	if strings.Join(keys(got), " ") != strings.Join(want, " ") {
		t.Fatalf("reported %v, want %v", keys(got), want)
	}
}

// TestCommandFailsOnOneAndHonoursTheAllowList: the command exits 1 naming what it
// found, 0 once each finding is allowed with a reason, and 1 again for an entry
// that no longer needs allowing.
func TestCommandFailsOnOneAndHonoursTheAllowList(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "unusedexports")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	root := module(t, sample)
	allow := filepath.Join(root, "allow.txt")
	run := func() (int, string) {
		cmd := exec.Command(bin, "-allow", allow, root)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	code, out := run()
	if code != 1 || !strings.Contains(out, "internal/a.HomeOnly is exported but nothing outside its package uses it") ||
		!strings.Contains(out, "internal/a.Dead is exported but nothing uses it") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	os.WriteFile(allow, []byte("# kept\ninternal/a.HomeOnly a test's reason\ninternal/a.Dead another\ninternal/a.Thing.NeverCalled and another\n"), 0o644)
	if code, out := run(); code != 0 {
		t.Fatalf("all allowed: exit %d:\n%s", code, out)
	}
	os.WriteFile(allow, []byte("internal/a.HomeOnly r\ninternal/a.Dead r\ninternal/a.Thing.NeverCalled r\ninternal/a.Used stale\n"), 0o644)
	if code, out := run(); code != 1 || !strings.Contains(out, "internal/a.Used is allowed but is used or gone") {
		t.Fatalf("stale entry: exit %d:\n%s", code, out)
	}
	os.WriteFile(allow, []byte("internal/a.HomeOnly\n"), 0o644)
	if code, out := run(); code != 2 || !strings.Contains(out, "has no reason") {
		t.Fatalf("entry without a reason: exit %d:\n%s", code, out)
	}
}
