package exporter

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/exporter/internal/spool"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// A figure on its way between the carried file and an update file is in
// both for an instant. A process that dies in that instant must leave it
// to be claimed once: these tests stop the first exporter there (its lock
// let go, nothing cleaned up) and count what the next one sends.
func TestFiguresMovingBetweenFilesAreClaimedOnce(t *testing.T) {
	for name, dieMidway := range map[string]func(t *testing.T, e *Exporter, entries []convert.Entry){
		// deliver: the carried file keeps a failed update's figures, and
		// the update's file is not deleted yet.
		"failed update carried, its file not deleted": func(t *testing.T, e *Exporter, entries []convert.Entry) {
			spooled, ok, _ := e.spool.BeginUpdate(entries, spool.Meta{})
			if !ok {
				t.Fatal("the update file was not written")
			}
			if err := e.carried.AddUpdate(entries, 0, spooled).Err; err != nil {
				t.Fatal(err)
			}
		},
		// prepare: an update took the carried figures and is on disk, and
		// the carried file is not rewritten yet.
		"carried figures taken, the carried file not rewritten": func(t *testing.T, e *Exporter, entries []convert.Entry) {
			if err := e.carried.Add(entries, 0).Err; err != nil {
				t.Fatal(err)
			}
			taken, meta := e.carried.Take()
			if _, ok, _ := e.spool.BeginUpdate(taken, meta); !ok {
				t.Fatal("the update file was not written")
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			id := uuid.New()
			first, err := New(WithInstanceID(id), WithSpool(dir), WithEndpoint("http://127.0.0.1:1/v1/update/"), WithRuntimeFigures(false))
			if err != nil {
				t.Fatal(err)
			}
			entries, problems := first.convert(new(convert.Converter), countOf("hits", 7))
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			dieMidway(t, first, entries)
			first.spool.Close(context.Background()) // dead: its lock is free, its files stay

			up := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
			next, err := New(WithInstanceID(id), WithSpool(dir), WithEndpoint(up.Endpoint()), WithRuntimeFigures(false))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := next.Export(ctx, &metricdata.ResourceMetrics{}); err != nil {
				t.Fatal(err)
			}
			_ = next.Shutdown(ctx)
			var sent []any
			for _, r := range up.Requests() {
				sent = append(sent, r.Payload(t).Data["hits"])
			}
			if len(sent) != 1 || sent[0] != float64(7) {
				t.Fatalf("hits sent in each update: %v, want one update with 7", sent)
			}
		})
	}
}

func countOf(name string, n int64) *metricdata.ResourceMetrics {
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{{
		Name: name, Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality,
			DataPoints: []metricdata.DataPoint[int64]{{Value: n, Time: time.Now()}}},
	}}}}}
}
