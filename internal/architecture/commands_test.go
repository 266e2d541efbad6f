package architecture

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEveryNamedCommandExists: every `make X`, `clinicpro X` and
// `clinicpro-relay X` that the README or a doc tells a reader to run is a
// Makefile target or a command the CLI dispatches. A renamed target or
// command otherwise leaves practice IT a sentence that fails when followed.
func TestEveryNamedCommandExists(t *testing.T) {
	root := filepath.Join("..", "..")
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	targets := set(regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`), read("Makefile"))
	agent := set(regexp.MustCompile(`\{"([a-z][a-z-]*)", "`), read("internal/cli/cli.go"))
	relay := set(regexp.MustCompile(`case ((?:"[a-z-]+"(?:, )?)+):`), read("internal/relay/relaycli/relaycli.go"))
	for _, want := range []struct {
		m    map[string]bool
		name string
	}{{targets, "test"}, {targets, "demo"}, {agent, "doctor"}, {agent, "queue"}, {relay, "practice"}, {relay, "serve"}} {
		if !want.m[want.name] {
			t.Fatalf("the parse of the Makefile or a CLI misses %q: the test is wrong", want.name)
		}
	}

	docs := []string{"README.md"}
	matches, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, m := range matches {
		rel, _ := filepath.Rel(root, m)
		docs = append(docs, filepath.ToSlash(rel))
	}
	code := regexp.MustCompile("`([^`\n]+)`")
	mk := regexp.MustCompile(`(?:^|[\s(;&])make ([a-z][a-z0-9-]*)`)
	cli := regexp.MustCompile(`(?:^|[\s(;&/\\])(clinicpro(?:-relay)?)(?:\.exe)? ([a-z][a-z-]*)`)
	checked := 0
	for _, doc := range docs {
		for _, span := range code.FindAllStringSubmatch(read(doc), -1) {
			for _, m := range mk.FindAllStringSubmatch(span[1], -1) {
				checked++
				if !targets[m[1]] {
					t.Errorf("%s says `make %s`, which is not a Makefile target", doc, m[1])
				}
			}
			for _, m := range cli.FindAllStringSubmatch(span[1], -1) {
				checked++
				known := agent
				if m[1] == "clinicpro-relay" {
					known = relay
				}
				if !known[m[2]] && m[2] != "help" {
					t.Errorf("%s says `%s %s`, which %s does not have", doc, m[1], m[2], m[1])
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d commands in the docs: the scan is wrong", checked)
	}
}

// set collects the first group of every match of re in s; a group holding a
// quoted list ("a", "b") adds each name.
func set(re *regexp.Regexp, s string) map[string]bool {
	out := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		for _, name := range strings.Split(m[1], ", ") {
			out[strings.Trim(name, `"`)] = true
		}
	}
	return out
}
