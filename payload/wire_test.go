package payload_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

// decodeAny is encoding/json's reading of b, with numbers kept as text.
func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json cannot read %.200q: %v", b, err)
	}
	return normalize(v)
}

// normalize makes numbers comparable whatever their spelling: two writers
// may spell one float differently (1e+21, 1e21) and both are right.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

// sameAsEncodingJSON checks that the writer's bytes for p mean exactly what
// encoding/json's bytes for p mean.
func sameAsEncodingJSON(t *testing.T, p payload.Payload) {
	t.Helper()
	want, wantErr := json.Marshal(p)
	got, err := payload.Append(nil, p)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("Append error %v, encoding/json error %v", err, wantErr)
	}
	if err != nil {
		return
	}
	if !json.Valid(got) {
		t.Fatalf("Append wrote invalid JSON: %.300q", got)
	}
	if g, w := decodeAny(t, got), decodeAny(t, want); !reflect.DeepEqual(g, w) {
		t.Fatalf("Append wrote\n%.600s\nencoding/json\n%.600s", got, want)
	}
}

var edgeNumbers = []any{
	0, -1, math.MaxInt64, math.MinInt64, uint64(math.MaxUint64), int32(math.MinInt32),
	0.0, math.Copysign(0, -1), 1e-7, 1e-6, 123456789.125, 1e20, 1e21, -1e21, math.MaxFloat64,
	math.SmallestNonzeroFloat64, float64(1<<53 + 1), 0.1, 2.5e-300, json.Number("12345678901234567890123"),
}

// randomValue makes a value of any shape a payload can hold.
func randomValue(r *rand.Rand, depth int) any {
	n := 6
	if depth > 2 {
		n = 4 // leaves only
	}
	switch r.IntN(n) {
	case 0:
		return randomString(r)
	case 1:
		return edgeNumbers[r.IntN(len(edgeNumbers))]
	case 2:
		return []any{nil, true, false}[r.IntN(3)]
	case 3:
		set := payload.CountingSet{}
		for range r.IntN(5) {
			set[[]any{randomString(r), r.IntN(3), 2.5}[r.IntN(3)]] += 1 + r.IntN(9)
		}
		return set
	case 4:
		m := map[string]any{}
		for range r.IntN(5) {
			m[randomString(r)] = randomValue(r, depth+1)
		}
		return m
	default:
		l := make([]any, r.IntN(5))
		for i := range l {
			l[i] = randomValue(r, depth+1)
		}
		return l
	}
}

// randomString has bytes of any value: quotes, controls, invalid UTF-8,
// HTML characters, line separators.
func randomString(r *rand.Rand) string {
	pieces := []string{"a", "tls:3fa2", `"`, `\`, "\n", "\x00", "\x1f", "\xff", "\xe2\x80", "é", "\u2028", "<&>", "/", " ", "𝄞"}
	var b []byte
	for range r.IntN(6) {
		b = append(b, pieces[r.IntN(len(pieces))]...)
	}
	return string(b)
}

func TestWriterMeansWhatEncodingJSONMeans(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	stamp := time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)
	for i := range 3000 {
		data := map[string]any{}
		for range r.IntN(8) {
			data[randomString(r)] = randomValue(r, 0)
		}
		p := payload.Payload{InstanceID: randomString(r), Timestamp: stamp, Data: data}
		if i%3 == 0 {
			p.ExpectNext = stamp.Add(time.Hour)
		}
		sameAsEncodingJSON(t, p)
	}
}

func TestWriterRefusesWhatJSONCannotCarry(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), make(chan int), json.Number("0x10"), []any{1, math.Inf(-1)}} {
		if _, err := payload.Append(nil, payload.Payload{Data: map[string]any{"k": v}}); err == nil {
			t.Errorf("%v: no error", v)
		}
	}
}

func FuzzWriterMeansWhatEncodingJSONMeans(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[1.5,"x",{"c":null}],"d":{"e":true}}`))
	f.Add([]byte(`{"\u00ff\ud800":-0,"k":1e21,"l":[1e-7,123456789012345678901]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var data map[string]any
		if json.Unmarshal(in, &data) != nil {
			return
		}
		sameAsEncodingJSON(t, payload.Payload{InstanceID: "id", Data: data})
	})
}

// sameAsEncodingJSONDecoder checks that ParseValue accepts what
// encoding/json accepts and reads the same values from it.
func sameAsEncodingJSONDecoder(t *testing.T, in []byte) {
	for _, useNumber := range []bool{false, true} {
		dec := json.NewDecoder(bytes.NewReader(in))
		if useNumber {
			dec.UseNumber()
		}
		var want any
		wantErr := dec.Decode(&want)
		if wantErr == nil && dec.Decode(new(any)) != io.EOF { // one value and nothing after it
			wantErr = errors.New("data after the value")
		}
		got, err := payload.ParseValue(in, payload.ParseOptions{UseNumber: useNumber})
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%.100q (UseNumber %v): ParseValue error %v, encoding/json error %v", in, useNumber, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%.100q (UseNumber %v): ParseValue gives %#v, encoding/json %#v", in, useNumber, got, want)
		}
	}
}

func TestDecoderReadsWhatEncodingJSONReads(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `null`, `  7 `, `-0`, `1e400`, `1.5e-9`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`,
		"\"\xff\xfe\"", `{"a":1,"a":2}`, `{"a":{"b":[1,{"c":"d"}]}}`, `[1,]`, `{"a":1,}`, `01`, `1 2`,
		`"\u00e9\n\t\/"`, `tru`, `[`, ``, `{"a" 1}`, "[1,\x00]", `"a` + "\x7f" + `"`, `123456789012345678901234567890`,
	} {
		sameAsEncodingJSONDecoder(t, []byte(in))
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		b, err := json.Marshal(randomValue(r, 0))
		if err == nil {
			sameAsEncodingJSONDecoder(t, b)
		}
	}
}

func FuzzDecoderReadsWhatEncodingJSONReads(f *testing.F) {
	for _, seed := range []string{`{"a":[1,2.5,"x",null,true]}`, `"\ud800"`, `1e400`, `[1,]`, "\"\xff\""} {
		f.Add([]byte(seed))
	}
	f.Fuzz(sameAsEncodingJSONDecoder)
}

func TestParseValueBoundsTheValuesRead(t *testing.T) {
	in := []byte(`[1,1,1,1,1]`)
	if _, err := payload.ParseValue(in, payload.ParseOptions{MaxValues: 6}); err != nil {
		t.Errorf("6 values within a bound of 6: %v", err)
	}
	if _, err := payload.ParseValue(in, payload.ParseOptions{MaxValues: 5}); err != payload.ErrTooManyValues {
		t.Errorf("6 values over a bound of 5: %v", err)
	}
}
