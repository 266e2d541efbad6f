package doctor

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
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
	for _, dir := range []string{filepath.Join("..", "health"), filepath.Join("..", "hcm"), filepath.Join("..", "health", "checks"), filepath.Join("..", "rollout"), filepath.Join("..", "upload"), filepath.Join("..", "watch")} {
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
