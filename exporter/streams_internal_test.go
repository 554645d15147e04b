package exporter

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/payload"
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
	rest := exp.streams.Take(rm, exp.filter.disabled)
	r.reused.release()

	var drained metricdata.ResourceMetrics
	exp.streams.DrainInto(&drained, 99)
	entries, _ := convert.Convert(new(convert.Converter), &drained, convert.Options{})
	var got payload.Writer
	for _, en := range entries {
		got.Name(en.Key)
		_ = en.Value.Write(&got)
	}
	const want = `"hits":[{"attributes":{"route":"/a"},"value":5}]`
	if string(got.Bytes()) != want || len(rest.ScopeMetrics) != 0 {
		t.Errorf("drained %s and left %v for the carried file, want %s and nothing", got.Bytes(), rest.ScopeMetrics, want)
	}
}
