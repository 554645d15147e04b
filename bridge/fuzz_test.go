package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"

	"github.com/telemetrybridge/telemetry/bridge"
	"github.com/telemetrybridge/telemetry/exporter"
)

// Whatever keys and values a program records, the payload is valid JSON
// and carries every key as given (as far as JSON can: bytes that are not
// UTF-8 become U+FFFD, as with encoding/json).
func FuzzPayloadEncoding(f *testing.F) {
	f.Add("tls_client_hello_ua:3fa2c1b0", "sub", "value", int64(5), 2.5, []byte("raw"))
	f.Add("", "", "\x00\xff\"\\", int64(-1), math.Copysign(0, -1), []byte{})
	f.Add("é/ü:ß", "a:b", "<html>", int64(1<<62), 1e300, []byte("{}"))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) // bad values are reported; that is expected here
	f.Fuzz(func(t *testing.T, key, subkey, s string, n int64, x float64, raw []byte) {
		var out bytes.Buffer
		exp, err := exporter.New(exporter.WithInstanceID(uuid.New()), exporter.WithWriter(&out), exporter.WithRuntimeFigures(false))
		if err != nil {
			t.Fatal(err)
		}
		b, r, err := bridge.ThroughExporter(exp)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = b.Shutdown(context.Background()) }()
		keys := map[string]func(){
			"c" + key: func() { b.Add("c"+key, int(n)) },
			"v" + key: func() { b.Set("v"+key, s) },
			"n" + key: func() { b.SetNested("n"+key, subkey, x) },
			"l" + key: func() { b.Append("l"+key, raw) },
			"u" + key: func() { b.AppendUnique("u"+key, s) },
			"f" + key: func() { b.Set("f"+key, x) },
		}
		for _, record := range keys {
			record()
		}
		if err := r.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		var p struct {
			Data map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(out.Bytes(), &p); err != nil {
			t.Fatalf("the payload is not valid JSON: %v\n%s", err, out.Bytes())
		}
		for k := range keys {
			if _, ok := p.Data[asJSON(k)]; !ok {
				t.Errorf("key %q is missing from %s", k, out.Bytes())
			}
		}
	})
}

// asJSON is what encoding/json makes of s.
func asJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}
