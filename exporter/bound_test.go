package exporter_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// An update stays within MaxUpdateBytes, below the Collector receiver's
// default body limit of 8 MiB: a key that would take it past is left out,
// whole, and counted under telemetry.dropped_items.
func TestUpdateStaysWithinTheByteBound(t *testing.T) {
	s := servertest.New(t)
	exp := newExporter(t, s)
	long := strings.Repeat("v", 120)
	pts := make([]metricdata.DataPoint[int64], 90_000)
	for i := range pts {
		pts[i] = member(long+strconv.Itoa(i), 1)
	}
	if err := exp.Export(context.Background(), collection(sum("a_small", pt(2)), sum("z_big", pts...))); err != nil {
		t.Fatal(err)
	}
	got := s.Requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	if n := len(got[0].Body); n > exporter.MaxUpdateBytes {
		t.Errorf("the update took %d bytes, more than %d", n, exporter.MaxUpdateBytes)
	}
	p := got[0].Payload(t)
	if _, sent := p.Data["z_big"]; sent || p.Int("a_small") != 2 || p.Int(payload.KeyDropped) != len(pts) {
		t.Errorf("big key sent: %v; a_small = %d; dropped = %d, want %d", sent, p.Int("a_small"), p.Int(payload.KeyDropped), len(pts))
	}
}
