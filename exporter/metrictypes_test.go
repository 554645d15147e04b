package exporter_test

import (
	"context"
	"encoding/json"
	"maps"
	"testing"

	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
)

// metricTypesSent records one of each instrument kind and returns the
// metric_types member of the update, and whether it was there at all.
func metricTypesSent(t *testing.T, opts ...exporter.Option) (map[string]string, bool) {
	t.Helper()
	s := servertest.New(t)
	r := exporter.NewReader(newExporter(t, s, opts...))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, ctx := mp.Meter("test"), context.Background()

	counter, _ := m.Int64Counter("counter")
	counter.Add(ctx, 3)
	upDown, _ := m.Int64UpDownCounter("updown")
	upDown.Add(ctx, -2)
	gauge, _ := m.Int64Gauge("gauge")
	gauge.Record(ctx, 7)
	fCounter, _ := m.Float64Counter("fcounter")
	fCounter.Add(ctx, 2) // a whole float: JSON writes it as 2
	fGauge, _ := m.Float64Gauge("fgauge")
	fGauge.Record(ctx, 0.5)
	set, _ := m.Int64Counter("set")
	set.Add(ctx, 1, attrs(attribute.String(payload.AttrValue, "a")))
	info, _ := m.Int64Gauge("info")
	info.Record(ctx, 1, attrs(attribute.String(payload.AttrValue, "linux")))
	attributed, _ := m.Int64Counter("attributed")
	attributed.Add(ctx, 1, attrs(attribute.String("method", "GET")))
	hist, _ := m.Float64Histogram("hist")
	hist.Record(ctx, 1)

	if err := r.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Types map[string]string `json:"metric_types"`
	}
	if err := json.Unmarshal(s.Wait(t, 1)[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Types, body.Types != nil
}

func TestMetricTypesStateWhatJSONCannotShow(t *testing.T) {
	got, _ := metricTypesSent(t, exporter.WithMetricTypes(true))
	want := map[string]string{
		"counter":    payload.MetricTypeCounter,
		"gauge":      payload.MetricTypeGauge,
		"fcounter":   payload.MetricTypeDoubleCounter,
		"fgauge":     payload.MetricTypeDoubleGauge,
		"attributed": payload.MetricTypeCounter,
		// Not stated, as their JSON reads as their type: "updown" (a whole
		// number), "set" (a counting set), "info" (a string), "hist".
	}
	if !maps.Equal(got, want) {
		t.Errorf("metric_types = %v, want %v", got, want)
	}
}

func TestMetricTypesAreOffByDefault(t *testing.T) {
	if got, present := metricTypesSent(t); present {
		t.Errorf("metric_types sent without WithMetricTypes: %v", got)
	}
}
