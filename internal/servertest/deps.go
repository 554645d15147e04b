package servertest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// ModulePath is the import path of the repository's main module; the
// Collector's module lies under it.
const ModulePath = "github.com/telemetrybridge/telemetry"

// RepoPackages returns the packages of this repository (both modules)
// that the packages matching patterns, run from dir, build on, themselves
// included: what `go list -deps` names under ModulePath. Tests of a
// package's place in the layering check it. The go command runs with
// GOPROXY=off: it reads only the module cache that built the test.
func RepoPackages(t testing.TB, dir string, patterns ...string) []string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = exit.Stderr
		}
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if p == ModulePath || strings.HasPrefix(p, ModulePath+"/") {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}

// jsonLibraries are the packages that read or write JSON, which a server
// reaches only through package payload.
var jsonLibraries = []string{"encoding/json", "github.com/go-json-experiment/json"}

// DirectJSON returns, for the Go files of dir other than tests, each use
// of a JSON library that does not go through package payload. One is
// allowed: the type json.Number, which payload's decoder gives numbers in,
// from an encoding/json import that says why in a comment on its line.
// Files excluded by build constraints are read too.
func DirectJSON(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, jsonUses(fset, f)...)
	}
	return found
}

func jsonUses(fset *token.FileSet, f *ast.File) []string {
	var found []string
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if !isJSONLibrary(path) {
			continue
		}
		at := fset.Position(imp.Pos()).String()
		switch {
		case path != "encoding/json":
			found = append(found, at+": imports "+path)
		case imp.Name != nil:
			found = append(found, at+": imports encoding/json as "+imp.Name.Name)
		case imp.Comment == nil:
			found = append(found, at+": imports encoding/json without a comment that says why")
		default:
			found = append(found, selectorsOtherThan(fset, f, "json", "Number")...)
		}
	}
	return found
}

func isJSONLibrary(path string) bool {
	for _, lib := range jsonLibraries {
		if path == lib || strings.HasPrefix(path, lib+"/") {
			return true
		}
	}
	return false
}

// selectorsOtherThan lists the uses pkg.X in f with X other than allowed.
func selectorsOtherThan(fset *token.FileSet, f *ast.File, pkg, allowed string) []string {
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == pkg && sel.Sel.Name != allowed {
			found = append(found, fset.Position(sel.Pos()).String()+": uses "+pkg+"."+sel.Sel.Name)
		}
		return true
	})
	return found
}
