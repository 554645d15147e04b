package servertest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDirectJSONFindsEveryUseButJSONNumber(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"ok.go":      "package p\n\nimport (\n\t\"encoding/json\" // json.Number only\n)\n\nvar _ json.Number\n",
		"marshal.go": "package p\n\nimport \"encoding/json\" // numbers\n\nvar _ json.Number\nvar _, _ = json.Marshal(1)\n",
		"silent.go":  "package p\n\nimport \"encoding/json\"\n\nvar _ json.Number\n",
		"renamed.go": "package p\n\nimport j \"encoding/json\" // numbers\n\nvar _ j.Number\n",
		"v2.go":      "package p\n\nimport \"github.com/go-json-experiment/json/jsontext\"\n\nvar _ jsontext.Value\n",
		"x_test.go":  "package p\n\nimport \"encoding/json\"\n\nvar _, _ = json.Marshal(1)\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := DirectJSON(t, dir)
	want := []string{"marshal.go:6:12: uses json.Marshal", "renamed.go:3:8: imports encoding/json as j",
		"silent.go:3:8: imports encoding/json without", "v2.go:3:8: imports github.com/go-json-experiment/json/jsontext"}
	slices.Sort(got)
	if len(got) != len(want) {
		t.Fatalf("found %q, want %d findings like %q", got, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(got[i], filepath.Join(dir, w)) {
			t.Errorf("finding %q, want one with %q", got[i], w)
		}
	}
}

func TestSelectorsOtherThanNamesEachUse(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "f.go", "package p\nvar a, b = json.Valid, json.Number(\"1\")\nvar c = other.Marshal\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := selectorsOtherThan(fset, f, "json", "Number"); !slices.Equal(got, []string{"f.go:2:12: uses json.Valid"}) {
		t.Errorf("found %q", got)
	}
}
