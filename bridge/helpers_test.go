package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/bridge"
	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

type fixture struct {
	b      *bridge.Bridge
	reader *exporter.Reader // the telemetry Reader: Start, ForceFlush
	server *servertest.Server
}

func newFixture(t *testing.T, expOpts []exporter.Option, opts ...bridge.Option) *fixture {
	t.Helper()
	s := servertest.New(t)
	exp, err := exporter.New(append([]exporter.Option{
		exporter.WithEndpoint(s.Endpoint()),
		exporter.WithInstanceID(uuid.New()),
		exporter.WithRuntimeFigures(false),
	}, expOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	b, r, err := bridge.ThroughExporter(exp, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
	return &fixture{b: b, reader: r, server: s}
}

// update sends one update and returns its data, re-encoded per key.
func (f *fixture) update(t *testing.T) map[string]string {
	t.Helper()
	n := len(f.server.Requests())
	if err := f.reader.ForceFlush(context.Background()); err != nil {
		t.Fatalf("update: %v", err)
	}
	return encodeData(t, f.server.Wait(t, n+1)[n].Body)
}

// encodeData decodes a payload keeping numbers as written, and returns its
// data with each value re-encoded.
func encodeData(t *testing.T, body []byte) map[string]string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var p payload.Payload
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("undecodable payload: %v", err)
	}
	out := make(map[string]string, len(p.Data))
	for k, v := range p.Data {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(b)
	}
	return out
}

func expectData(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%q: got %s, want %s", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %q = %s", k, g)
		}
	}
}
