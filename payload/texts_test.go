package payload

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

func TestDataTextsFollowParseUpdate(t *testing.T) {
	body := `{"instance_id":"x","data":{"gone":1},"DATA":null,` +
		`"data":{"a":1,"b":{"x": "\u003c", "y":[1, 2.50]},"a":"again"},` +
		`"other":{"a":2},"Data":{"c\u00e9":[ true ,null],"s":"<&>"}}`
	u, err := ParseUpdate([]byte(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	texts, err := DataTexts([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(texts))
	if want := []string{"a", "b", "cé", "s"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	for k, text := range texts {
		v, err := ParseValue([]byte(text), ParseOptions{UseNumber: true})
		if err != nil || !reflect.DeepEqual(v, u.Data[k]) {
			t.Errorf("key %q: text %s reads as %#v (%v), ParseUpdate has %#v", k, text, v, err, u.Data[k])
		}
	}
	if got, want := texts["b"], `{"x": "\u003c", "y":[1, 2.50]}`; got != want {
		t.Errorf("text of b %s, want it as written: %s", got, want)
	}
	for _, bad := range []string{`[1]`, `{"data":[1]}`, `{"data":{"a":1}`} {
		if _, err := DataTexts([]byte(bad)); err == nil {
			t.Errorf("DataTexts(%s) accepted it", bad)
		}
	}
}

func TestCompactTextKeepsWhatAWriterWrote(t *testing.T) {
	type inner struct {
		Z string
		A []any
	}
	for _, v := range []any{
		map[string]any{"a": "<>&", "é": "\u2028\x01\t", "n": []any{1.5, nil, true}},
		struct {
			B string
			A inner
		}{"<b>&é\x01", inner{"\xff", []any{map[string]any{}, 1e21}}},
		"plain", 12, []any{},
	} {
		var w Writer
		if err := w.Value(v); err != nil {
			t.Fatal(err)
		}
		if got, err := CompactText(string(w.Bytes())); err != nil || got != string(w.Bytes()) {
			t.Errorf("CompactText(%s) = %s, %v; want it unchanged", w.Bytes(), got, err)
		}
	}
	spaced := "{ \"a\" : [1, 2.50 ,\"x y\\u003c\"],\n\t\"b\":{} }"
	if got, err := CompactText(spaced); err != nil || got != `{"a":[1,2.50,"x y\u003c"],"b":{}}` {
		t.Errorf("CompactText(%q) = %s, %v", spaced, got, err)
	}
	for _, bad := range []string{"", "{", `[1] [2]`, "\"\xff\"", `{"a":1,}`} {
		if got, err := CompactText(bad); err == nil {
			t.Errorf("CompactText(%q) = %q, want an error", bad, got)
		}
	}
}

// TestReleaseDropsEveryMember checks that a reader given back to the pool
// holds no decoded value, after a large object, a nested one and one cut
// short by an error, while it clears only the part of its stack it used.
func TestReleaseDropsEveryMember(t *testing.T) {
	for _, in := range []string{
		`{"a":{"b":{"c":"x","d":"y"},"e":"z"},"f":"w"}`,
		`{"a":{"b":"x","c":{"d":"y",`,
	} {
		r := new(valueReader)
		r.reset([]byte(in), ParseOptions{})
		_, _ = r.value()
		if r.membersUsed == 0 {
			t.Fatalf("%s: no member counted as used", in)
		}
		r.release()
		for i, m := range r.members[:cap(r.members)] {
			if m.name != "" || m.value != nil {
				t.Errorf("%s: member %d still holds %q", in, i, m.name)
			}
		}
	}
}
