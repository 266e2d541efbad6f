package architecture

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

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
