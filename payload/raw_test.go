package payload

import (
	"reflect"
	"testing"
)

func TestRawMembersKeepTheTextOfEachValue(t *testing.T) {
	in := `{ "a": {"z":1, "b" : [1, 2.50]}, "b\u00e9":"x\"y", "n": null, "a": -0 }`
	got, err := RawMembers([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []RawMember{{"a", `{"z":1, "b" : [1, 2.50]}`}, {"bé", `"x\"y"`}, {"n", "null"}, {"a", "-0"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RawMembers = %q, want %q", got, want)
	}
	els, err := RawElements([]byte(`[ {"a" :1}, "s", 1e3 ,[]]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`{"a" :1}`, `"s"`, "1e3", "[]"}; !reflect.DeepEqual(els, want) {
		t.Fatalf("RawElements = %q, want %q", els, want)
	}
	for _, bad := range []string{`[1]`, `{"a":1} x`, `{"a":`, ``, `"s"`} {
		if _, err := RawMembers([]byte(bad)); err == nil {
			t.Errorf("RawMembers(%q) accepted it", bad)
		}
	}
	for _, bad := range []string{`{}`, `[1,]`, `[1`, `[] []`} {
		if _, err := RawElements([]byte(bad)); err == nil {
			t.Errorf("RawElements(%q) accepted it", bad)
		}
	}
}
