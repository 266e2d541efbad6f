package architecture

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/clinicpro/medtech-images/"

// imports maps each package of the module (its path inside the module) to the
// module packages its non-test files import, whatever their build tags: a
// _windows.go file counts as much as any other.
func imports(t *testing.T) map[string]map[string]bool {
	t.Helper()
	root := filepath.Join("..", "..")
	out := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "out" || name == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if out[pkg] == nil {
			out[pkg] = map[string]bool{}
		}
		for _, is := range f.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			if own, ok := strings.CutPrefix(p, module); ok {
				out[pkg][own] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 40 {
		t.Fatalf("found only %d packages: the walk is wrong", len(out))
	}
	return out
}

// match reports whether pkg is pattern, or under it when the pattern ends in "/...".
func match(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// rule: no package matching pkg imports one matching any of forbid.
type rule struct {
	pkg    string
	forbid []string
	why    string
}

// layers are docs/design.md's "Layers": no package imports one above it.
var layers = []rule{
	{"internal/queue", []string{"internal/localapi", "internal/relay/client", "internal/upload", "internal/agent/..."},
		"the durable queue owns its states: storage never imports a wire package, so renaming a wire field is no data migration"},
	{"internal/upload", []string{"internal/localapi", "internal/agent/..."},
		"the uploader speaks the queue's states and the relay through its own interface, not the tray's wire types"},
	{"internal/watch", []string{"internal/localapi", "internal/queue", "internal/upload", "internal/agent/..."},
		"the watcher finds files; the agent decides what happens to them"},
	{"internal/health/...", []string{"internal/relay/client", "internal/agent/...", "internal/doctor", "internal/cli", "internal/localapi"},
		"the health model and its catalogue reach the relay through an interface, below the agent that runs them"},
	{"internal/agent/...", []string{"internal/doctor", "internal/cli"},
		"doctor and the command line present the agent; the agent never imports its presenters"},
	{"internal/doctor", []string{"internal/cli", "internal/agent/daemon"},
		"doctor presents what it is given; the command line hands it the daemon's checkup"},
	{"internal/localapi/...", []string{"internal/agent/...", "internal/queue", "internal/upload", "internal/watch", "internal/relay/client"},
		"the local API is the contract the agent implements, not a part of it"},
	{"internal/relay/...", []string{"internal/agent/...", "internal/localapi/...", "internal/queue", "internal/upload", "internal/watch", "internal/cli", "internal/doctor"},
		"the relay runs on its own server and shares only relay/api with the agent"},
}

// onlyFrom: the packages that may import pkg.
var onlyFrom = []struct {
	pkg     string
	allowed []string
	why     string
}{
	{"internal/cli", []string{"cmd/clinicpro"}, "the command line is cmd/clinicpro's"},
	{"internal/agent/daemon", []string{"internal/cli"}, "the agent's composition root is called by the command line alone"},
	{"internal/doctor", []string{"internal/cli", "ui"}, "doctor presents to practice IT through the command line and the tray"},
}

// composition: what cmd/clinicpro and internal/cli may import at all. The CLI
// parses flags and calls the daemon (which composes the agent and its services:
// relay client, HCM monitor, keep-awake, event log, enrolment, listeners) or the
// running agent through the local API, and presents the answer; it builds no
// service object, so it imports none of their packages.
var composition = map[string][]string{
	"cmd/clinicpro": {"internal/cli"},
	"internal/cli": {"internal/agent/daemon", "internal/doctor", "internal/localapi", "internal/health", "internal/config",
		"internal/nhi", "internal/redact", "internal/relay/api", "internal/version"},
}

// violations lists what in graph breaks the rules, one sentence each.
func violations(graph map[string]map[string]bool) []string {
	var out []string
	for pkg, deps := range graph {
		for dep := range deps {
			for _, r := range layers {
				if !match(r.pkg, pkg) {
					continue
				}
				for _, f := range r.forbid {
					if match(f, dep) {
						out = append(out, pkg+" imports "+dep+": "+r.why)
					}
				}
			}
			for _, o := range onlyFrom {
				if dep != o.pkg {
					continue
				}
				ok := false
				for _, a := range o.allowed {
					ok = ok || match(a, pkg)
				}
				if !ok {
					out = append(out, pkg+" imports "+dep+": "+o.why)
				}
			}
			if allowed, ok := composition[pkg]; ok {
				found := false
				for _, a := range allowed {
					found = found || a == dep
				}
				if !found {
					out = append(out, pkg+" imports "+dep+": the command line builds no service objects; internal/agent/daemon composes them")
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestNoPackageImportsOneAbove: the layering of docs/design.md holds in the tree.
func TestNoPackageImportsOneAbove(t *testing.T) {
	g := imports(t)
	for _, v := range violations(g) {
		t.Error(v)
	}
	// The rules name packages that exist, so a rename cannot silence them.
	for _, r := range layers {
		found := false
		for pkg := range g {
			found = found || match(r.pkg, pkg)
		}
		if !found {
			t.Errorf("the rule for %s names no package", r.pkg)
		}
	}
	for pkg := range composition {
		if g[pkg] == nil {
			t.Errorf("%s is not a package", pkg)
		}
	}
}

// TestViolationsAreFound: the checker reports each kind of breach, so the test
// above can fail.
func TestViolationsAreFound(t *testing.T) {
	bad := map[string]map[string]bool{
		"internal/queue":        {"internal/localapi": true},
		"internal/health":       {"internal/relay/client": true},
		"internal/agent":        {"internal/doctor": true},
		"internal/cli":          {"internal/hcm": true, "internal/relay/client": true, "internal/agent/daemon": true},
		"internal/upload":       {"internal/agent/daemon": true},
		"cmd/clinicpro":         {"internal/agent": true},
		"internal/localapi":     {"internal/agent": true},
		"internal/relay/client": {"internal/queue": true},
	}
	got := strings.Join(violations(bad), "\n")
	for _, want := range []string{
		"internal/queue imports internal/localapi", "internal/health imports internal/relay/client",
		"internal/agent imports internal/doctor", "internal/cli imports internal/hcm", "internal/cli imports internal/relay/client",
		"internal/upload imports internal/agent/daemon", "cmd/clinicpro imports internal/agent", "internal/localapi imports internal/agent",
		"internal/relay/client imports internal/queue",
	} {
		if !strings.Contains(got, want+":") {
			t.Errorf("not reported: %s\n%s", want, got)
		}
	}
	if strings.Contains(got, "internal/cli imports internal/agent/daemon") {
		t.Errorf("the daemon is what the CLI may call:\n%s", got)
	}
}
