package exporter

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A checkpoint whose collection fails before the SDK fills it (its
// context is done) finds an empty collection, not the points of the last
// checkpoint, which the reused collection held: those would be counted
// twice.
func TestAFailedCheckpointCollectionTakesNothingStale(t *testing.T) {
	exp, err := New(WithEndpoint("http://127.0.0.1:1/"), WithInstanceID(uuid.New()), WithRuntimeFigures(false), WithSpool(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(exp)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	c, err := mp.Meter("m").Int64Counter("hits")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.Add(ctx, 5, metric.WithAttributes(attribute.String("route", "/a")))
	if errs := r.checkpoint(ctx); len(errs) > 0 {
		t.Fatal(errs)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	rm := r.reused.take()
	if err := r.Reader.Collect(canceled, rm); err == nil {
		t.Fatal("a collection with a done context did not fail")
	}
	rest := exp.streams.take(rm, exp.filter.disabled)
	r.reused.release()

	var drained metricdata.ResourceMetrics
	exp.streams.drainInto(&drained, 99)
	if got := sumOf(t, &drained, "hits"); got != 5 || len(rest.ScopeMetrics) != 0 {
		t.Errorf("drained %d of hits and left %v for the carried file, want 5 and nothing", got, rest.ScopeMetrics)
	}
}

// sumOf adds up the points of the integer sum named name in rm.
func sumOf(t *testing.T, rm *metricdata.ResourceMetrics, name string) int64 {
	t.Helper()
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == name {
				for _, p := range sum.DataPoints {
					total += p.Value
				}
			}
		}
	}
	return total
}

// Streams take at most their budget of the journal; the points of sets
// past it are left for the carried file, and a stream freed at an update
// gives its room back.
func TestStreamsKeepWithinTheirShareOfTheJournal(t *testing.T) {
	exp, err := New(WithEndpoint("http://127.0.0.1:1/"), WithInstanceID(uuid.New()), WithRuntimeFigures(false), WithSpool(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	s := exp.streams
	sum := func(values ...int64) *metricdata.ResourceMetrics {
		pts := make([]metricdata.DataPoint[int64], len(values))
		for i, v := range values {
			pts[i] = metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.Int("i", i)), Value: v}
		}
		return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{{
			Name: "hits", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: pts},
		}}}}}
	}
	desc, _ := describeStream(instrumentID{"", "hits"}, true, attribute.NewSet(attribute.Int("i", 0)))
	s.budget = 3 * (streamRecordSize + len(desc))

	rest := s.take(sum(1, 2, 3, 4, 5), exp.filter.disabled)
	if left := sumOf(t, rest, "hits"); left != 4+5 {
		t.Errorf("left %d for the carried file, want the last two sets' 9", left)
	}
	var drained metricdata.ResourceMetrics
	s.drainInto(&drained, 1)
	exp.journal.Commit(1)
	if got := sumOf(t, &drained, "hits"); got != 1+2+3 {
		t.Errorf("drained %d, want the first three sets' 6", got)
	}
	s.drainInto(&metricdata.ResourceMetrics{}, 2) // nothing new: every stream is freed
	exp.journal.Commit(2)
	if s.used != 0 {
		t.Errorf("freed streams still use %d bytes", s.used)
	}
	if left := sumOf(t, s.take(sum(1, 2, 3), exp.filter.disabled), "hits"); left != 0 {
		t.Errorf("left %d for the carried file once the room was given back, want 0", left)
	}
}
