package telemetryreceiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decodeStd is what encoding/json makes of data, the reference for
// parseJSON: json.Valid for the grammar (one value, nothing after it),
// and a Decoder with UseNumber for the value.
func decodeStd(data []byte) (any, error) {
	if !json.Valid(data) {
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// jsonSeeds are inputs at the edges of the grammar.
var jsonSeeds = []string{
	`{}`, `[]`, ` {"a": [1, -0, 0.5, 1e3, -2E-2, 12345678901234567890]} `, `"\u00e9\ud83d\ude00\ud800\udc00x"`,
	`"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800\\"`, `"a\tb"`, "\"\xff\xfeok\xc3\"", `"\/\b\f\n\r\t\"\\"`,
	`{"a":1,"a":2}`, `[1,]`, `{"a":1,}`, `01`, `-`, `1.`, `1e`, `.5`, `+1`, `tru`, `nul`, `true false`,
	`{"a" 1}`, `{1:2}`, `[1 2]`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"\x01\"", `{"a":[{"b":null}]}`, ``, ` `,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
}

func TestParseJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		checkAgainstStd(t, []byte(s))
	}
}

func checkAgainstStd(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := decodeStd(data)
	got, err := parseJSON(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%.80q: parseJSON error %v, encoding/json error %v", data, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%.80q: parseJSON gives %#v, encoding/json %#v", data, got, want)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds[:len(jsonSeeds)-2] { // the deep ones are slow to mutate
		f.Add([]byte(s))
	}
	f.Add(updateBody(testID, `{"n": 1, "s": [{"value": "x", "count": 2}], "o": {"a": "b"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstStd(t, data)
	})
}
