// Command unusedexports lists the exported identifiers of a module's internal/
// packages that nothing uses: `make lint` runs it and fails on one, so dead code and
// API wider than it needs to be do not accumulate.
//
// The rule, read from the source alone (every build tag, so a _windows.go file
// counts as much as any other), for the non-test files of packages under internal/:
//
//   - Exported functions, types, and methods of exported types are reported unless
//     another package of the module names them (pkg.Name, tests included) or the
//     package's own tests do: one used only at home should not be exported. A
//     method counts as named when a selector .Name appears outside its package or
//     in its tests (by name: an interface call cannot be told apart).
//   - Exported constants and variables are reported only when nothing names them at
//     all, at home or elsewhere: a value used at home documents a contract (a
//     limit, a code, a sentinel error callers may test with errors.Is).
//   - Never reported: a type named in the signature or fields of its package's
//     exported API (callers of a constructor never spell its result type), and
//     methods whose names standard interfaces call (Error, String, ServeHTTP...).
//
// allow.txt beside this file lists the rest that stay, each with why.
//
// Usage: go run ./internal/tools/unusedexports [-allow FILE] [MODULE_ROOT]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// stdMethods are called by the standard library or the toolkits through their
// interfaces, never by name in this module.
var stdMethods = map[string]bool{
	"Error": true, "Unwrap": true, "Is": true, "As": true, "String": true, "GoString": true, "Format": true,
	"Read": true, "Write": true, "Close": true, "Seek": true, "ReadAt": true, "WriteTo": true, "ReadFrom": true,
	"ServeHTTP": true, "RoundTrip": true, "Handle": true, "Enabled": true, "WithAttrs": true, "WithGroup": true,
	"MarshalJSON": true, "UnmarshalJSON": true, "MarshalText": true, "UnmarshalText": true, "MarshalTOML": true, "UnmarshalTOML": true,
	"Len": true, "Less": true, "Swap": true, "Push": true, "Pop": true,
	"Start": true, "Stop": true, "Execute": true, // kardianos/service, x/sys/windows/svc
	"Timeout": true, "Temporary": true, "ColorModel": true, "Bounds": true, "At": true, "Set": true,
	"LogValue": true, "Value": true, "Scan": true, "Deadline": true, "Done": true, "Err": true,
	"Accept": true, "Addr": true, "Network": true, "LocalAddr": true, "RemoteAddr": true, "SetDeadline": true, "SetReadDeadline": true, "SetWriteDeadline": true,
	"Size": true, "Name": true, "Mode": true, "ModTime": true, "IsDir": true, "Sys": true, "Type": true, "Info": true,
	// fyne.Widget and its renderers
	"CreateRenderer": true, "MinSize": true, "Layout": true, "Refresh": true, "Objects": true, "Destroy": true,
	"Tapped": true, "TappedSecondary": true, "MouseIn": true, "MouseMoved": true, "MouseOut": true, "Dragged": true, "DragEnd": true,
	"Scrolled": true, "FocusGained": true, "FocusLost": true, "TypedRune": true, "TypedKey": true, "Cursor": true,
	"Color": true, "Font": true, "Icon": true,
}

// decl is one exported identifier: Name, or Recv.Name for a method.
type decl struct {
	pkg, name, recv string
	value           bool // a constant or variable
	pos             token.Position
}

func (d decl) key() string {
	if d.recv != "" {
		return d.pkg + "." + d.recv + "." + d.name
	}
	return d.pkg + "." + d.name
}

type file struct {
	pkg    string // directory, relative to the root
	test   bool
	extern bool // package x_test
	ast    *ast.File
}

func main() {
	allowPath := flag.String("allow", "", "allow-list file (default: allow.txt beside this command's source, under the root)")
	flag.Parse()
	root := "."
	if flag.NArg() > 0 {
		root = flag.Arg(0)
	}
	if *allowPath == "" {
		*allowPath = filepath.Join(root, "internal", "tools", "unusedexports", "allow.txt")
	}
	unused, err := Find(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "unusedexports:", err)
		os.Exit(2)
	}
	allow, err := readAllow(*allowPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "unusedexports:", err)
		os.Exit(2)
	}
	bad := 0
	for _, d := range unused {
		if _, ok := allow[d.key()]; ok {
			allow[d.key()] = true
			continue
		}
		if d.value {
			fmt.Printf("%s: %s is exported but nothing uses it: delete it\n", d.pos, d.key())
		} else {
			fmt.Printf("%s: %s is exported but nothing outside its package uses it: unexport or delete it\n", d.pos, d.key())
		}
		bad++
	}
	for k, seen := range allow {
		if !seen {
			fmt.Printf("%s: %s is allowed but is used or gone: take it out of the list\n", *allowPath, k)
			bad++
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}

// readAllow reads "pkg.Name  reason" lines; # starts a comment line. Every entry
// must give a reason.
func readAllow(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return map[string]bool{}, nil
		}
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, why, _ := strings.Cut(line, " ")
		if strings.TrimSpace(why) == "" {
			return nil, fmt.Errorf("%s:%d: %s has no reason", path, n, key)
		}
		out[key] = false
	}
	return out, sc.Err()
}

// Find returns the unused exported identifiers of root's internal/ packages,
// sorted by position.
func Find(root string) ([]decl, error) {
	mod, err := modulePath(root)
	if err != nil {
		return nil, err
	}
	files, err := parseAll(root)
	if err != nil {
		return nil, err
	}
	// Declarations.
	var decls []decl
	api := map[string]bool{} // pkg.Type named by the package's exported API
	for _, f := range files {
		if f.test || !strings.HasPrefix(f.pkg+"/", "internal/") || f.ast.Name.Name == "main" {
			continue
		}
		for _, d := range f.ast.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				recv := ""
				if d.Recv != nil && len(d.Recv.List) == 1 {
					recv = typeName(d.Recv.List[0].Type)
					if !ast.IsExported(recv) {
						continue
					}
				}
				decls = append(decls, decl{pkg: f.pkg, name: d.Name.Name, recv: recv, pos: position(f, d.Name.Pos())})
				namedTypes(d.Type, func(n string) { api[f.pkg+"."+n] = true })
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							decls = append(decls, decl{pkg: f.pkg, name: s.Name.Name, pos: position(f, s.Name.Pos())})
							if st, ok := s.Type.(*ast.StructType); ok {
								for _, fl := range st.Fields.List {
									if exportedField(fl) {
										namedTypes(fl.Type, func(n string) { api[f.pkg+"."+n] = true })
									}
								}
							} else {
								namedTypes(s.Type, func(n string) { api[f.pkg+"."+n] = true })
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								decls = append(decls, decl{pkg: f.pkg, name: n.Name, value: true, pos: position(f, n.Pos())})
								if s.Type != nil {
									namedTypes(s.Type, func(n string) { api[f.pkg+"."+n] = true })
								}
							}
						}
					}
				}
			}
		}
	}
	// Uses.
	used := map[string]bool{}                // pkg.Name
	atHome := map[string]int{}               // pkg.Name: identifiers in the package's own non-test files, declarations included
	selected := map[string]map[string]bool{} // method name -> packages selecting it
	for _, f := range files {
		aliases := map[string]string{} // local name -> package dir
		var dotted []string            // packages imported with "."
		for _, is := range f.ast.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			rel, ok := strings.CutPrefix(p, mod+"/")
			if !ok {
				continue
			}
			name := filepath.Base(rel)
			if is.Name != nil {
				name = is.Name.Name
			}
			if name == "." {
				dotted = append(dotted, rel)
				continue
			}
			aliases[name] = rel
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok {
					if pkg, ok := aliases[x.Name]; ok && (pkg != f.pkg || f.extern) {
						used[pkg+"."+n.Sel.Name] = true
						return true
					}
				}
				if selected[n.Sel.Name] == nil {
					selected[n.Sel.Name] = map[string]bool{}
				}
				who := f.pkg
				if f.test {
					who += " (tests)"
				}
				selected[n.Sel.Name][who] = true
			case *ast.Ident:
				for _, pkg := range dotted {
					used[pkg+"."+n.Name] = true
				}
				switch {
				case f.test && !f.extern:
					used[f.pkg+"."+n.Name] = true
				case !f.test:
					atHome[f.pkg+"."+n.Name]++
				}
			}
			return true
		})
	}
	// Methods an interface of the module names are called through it.
	viaInterface := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			if it, ok := n.(*ast.InterfaceType); ok {
				for _, m := range it.Methods.List {
					for _, name := range m.Names {
						viaInterface[name.Name] = true
					}
				}
			}
			return true
		})
	}
	var out []decl
	for _, d := range decls {
		if d.recv != "" {
			if stdMethods[d.name] || viaInterface[d.name] {
				continue
			}
			users := selected[d.name]
			outside := false
			for who := range users {
				outside = outside || who != d.pkg
			}
			if outside {
				continue
			}
			out = append(out, d)
			continue
		}
		if used[d.pkg+"."+d.name] || api[d.pkg+"."+d.name] || d.value && atHome[d.pkg+"."+d.name] > 1 {
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].pos.Filename != out[j].pos.Filename {
			return out[i].pos.Filename < out[j].pos.Filename
		}
		return out[i].pos.Line < out[j].pos.Line
	})
	return out, nil
}

var fset = token.NewFileSet()

func position(f file, p token.Pos) token.Position { return fset.Position(p) }

func exportedField(fl *ast.Field) bool {
	if len(fl.Names) == 0 {
		return true // embedded
	}
	for _, n := range fl.Names {
		if n.IsExported() {
			return true
		}
	}
	return false
}

// namedTypes calls fn with every unqualified type name in expr.
func namedTypes(expr ast.Node, fn func(string)) {
	ast.Inspect(expr, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			return false // another package's type
		case *ast.Ident:
			if n.IsExported() {
				fn(n.Name)
			}
		case *ast.FuncLit, *ast.BlockStmt:
			return false
		}
		return true
	})
}

// typeName is a receiver's type name without pointer or type parameters.
func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return typeName(t.X)
	case *ast.IndexExpr:
		return typeName(t.X)
	case *ast.IndexListExpr:
		return typeName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return ""
}

func modulePath(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", fmt.Errorf("no module line in %s/go.mod", root)
}

func parseAll(root string) ([]file, error) {
	var out []file
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "out" || name == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		out = append(out, file{pkg: filepath.ToSlash(rel), test: strings.HasSuffix(name, "_test.go"),
			extern: strings.HasSuffix(f.Name.Name, "_test"), ast: f})
		return nil
	})
	return out, err
}
