package doctor

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// TestEveryFixIsDocumented keeps docs/troubleshooting.md in step with the code:
// every Fix* constant doctor can print must appear there word for word.
func TestEveryFixIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range []string{".", filepath.Join("..", "hcm"), filepath.Join("..", "health", "checks"), filepath.Join("..", "rollout")} {
		fset := token.NewFileSet()
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(nd ast.Node) bool {
				vs, ok := nd.(*ast.ValueSpec)
				if !ok {
					return true
				}
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Fix") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						continue
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					n++
					if !strings.Contains(string(doc), s) {
						t.Errorf("%s (%s) is not in docs/troubleshooting.md:\n%s", name.Name, path, s)
					}
				}
				return true
			})
		}
	}
	if n < 20 {
		t.Fatalf("found only %d fix sentences; the parser missed some", n)
	}
}

// TestEveryCauseIsDocumented: each cause the relay client can give (api.Causes) has
// its sentence and its fix in docs/troubleshooting.md, word for word, under a
// heading that names its code.
func TestEveryCauseIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	causes := api.Causes()
	if len(causes) < 15 {
		t.Fatalf("only %d causes", len(causes))
	}
	for _, c := range causes {
		for what, s := range map[string]string{"code": "`" + string(c) + "`", "sentence": c.Sentence(), "fix": c.Fix()} {
			if !strings.Contains(string(doc), s) {
				t.Errorf("the %s of cause %s is not in docs/troubleshooting.md:\n%s", what, c, s)
			}
		}
	}
}

// TestDesignNamesEveryPackage: docs/design.md's package table names every Go package
// of the module, and nothing else, so the design in the repository matches the tree.
func TestDesignNamesEveryPackage(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9/_-]+)` \\|")
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		named[m[1]] = true
	}
	found := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "out" || name == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			found[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range found {
		if !named[p] {
			t.Errorf("package %s is not in docs/design.md's package table", p)
		}
	}
	for p := range named {
		if !found[p] {
			t.Errorf("docs/design.md names %s, which is not a package", p)
		}
	}
	if len(found) < 40 {
		t.Fatalf("found only %d packages: the walk is wrong", len(found))
	}
	for _, outside := range []string{"../shared", "/work/"} {
		if strings.Contains(string(doc), outside) {
			t.Errorf("docs/design.md points outside the repository (%s)", outside)
		}
	}
}

// TestNothingPointsOutsideTheRepository: no README, doc or comment refers to the
// design notes or ALEX reference a clone does not have.
func TestNothingPointsOutsideTheRepository(t *testing.T) {
	root := filepath.Join("..", "..")
	needles := []string{"shared" + "/DESIGN", "shared" + "/reference", "/work" + "/shared", "reference/" + "alex.md"}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "out" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".md") || d.Name() == "Makefile") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if strings.Contains(string(b), n) {
				t.Errorf("%s points outside the repository (%s)", path, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
