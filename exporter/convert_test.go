package exporter_test

import (
	"context"
	"math"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// pipeline is a MeterProvider whose only reader is an exporter.Reader that
// reports to a fake server.
type pipeline struct {
	server *servertest.Server
	reader *exporter.Reader
	meter  metric.Meter
}

func newPipeline(t *testing.T, opts ...sdkmetric.Option) *pipeline {
	t.Helper()
	s := servertest.New(t)
	r := exporter.NewReader(newExporter(t, s))
	mp := sdkmetric.NewMeterProvider(append([]sdkmetric.Option{sdkmetric.WithReader(r)}, opts...)...)
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return &pipeline{server: s, reader: r, meter: mp.Meter("test")}
}

// flush sends one update and returns the payload the server received.
func (p *pipeline) flush(t *testing.T) payload.Payload {
	t.Helper()
	n := len(p.server.Requests())
	if err := p.reader.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	return p.server.Wait(t, n+1)[n].Payload(t)
}

func attrs(kv ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributes(kv...)
}

func TestConversionOfInstruments(t *testing.T) {
	p := newPipeline(t, sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Name: "exp_hist"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 4, MaxScale: 0}},
	)))
	ctx := context.Background()
	m := p.meter

	c, _ := m.Int64Counter("count")
	c.Add(ctx, 3)
	fc, _ := m.Float64Counter("fcount")
	fc.Add(ctx, 1.5)
	ud, _ := m.Int64UpDownCounter("updown")
	ud.Add(ctx, -4)
	g, _ := m.Int64Gauge("gauge")
	g.Record(ctx, 42)
	fg, _ := m.Float64Gauge("fgauge")
	fg.Record(ctx, 0.25)

	set, _ := m.Int64Counter("set")
	set.Add(ctx, 2, attrs(attribute.String(payload.AttrValue, "a")))
	set.Add(ctx, 1, attrs(attribute.Int(payload.AttrValue, 5)))
	set.Add(ctx, 1, attrs(attribute.String(payload.AttrValueJSON, `{"b":1}`)))

	nested, _ := m.Float64Gauge("nested")
	nested.Record(ctx, 1.5, attrs(attribute.String(payload.AttrSubkey, "x")))
	nested.Record(ctx, 2, attrs(attribute.String(payload.AttrSubkey, "y")))

	nestedValues, _ := m.Int64Gauge("nested_values")
	nestedValues.Record(ctx, 1, attrs(attribute.String(payload.AttrSubkey, "os"), attribute.String(payload.AttrValue, "linux")))

	info, _ := m.Int64Gauge("info")
	info.Record(ctx, 1, attrs(attribute.String(payload.AttrValueJSON, `{"major":2,"tags":["x"]}`)))

	list, _ := m.Int64Gauge("list")
	list.Record(ctx, 1, attrs(attribute.Int(payload.AttrIndex, 1), attribute.String(payload.AttrValue, "second")))
	list.Record(ctx, 1, attrs(attribute.Int(payload.AttrIndex, 0), attribute.Bool(payload.AttrValue, true)))

	generic, _ := m.Int64Counter("http.requests")
	generic.Add(ctx, 2, attrs(attribute.String("method", "GET"), attribute.Int("status", 200)))
	generic.Add(ctx, 1, attrs(attribute.String("method", "POST"), attribute.Int("status", 500)))

	h, _ := m.Float64Histogram("latency", metric.WithExplicitBucketBoundaries(1, 10))
	h.Record(ctx, 0.5)
	h.Record(ctx, 5)
	eh, _ := m.Int64Histogram("exp_hist")
	eh.Record(ctx, 3)

	escaped, _ := m.Int64Counter(payload.KeyToInstrumentName("tls_client_hello_ua:3fa2c1b0"))
	escaped.Add(ctx, 1)

	got := p.flush(t).Data
	want := map[string]string{
		"count":                        `3`,
		"fcount":                       `1.5`,
		"updown":                       `-4`,
		"gauge":                        `42`,
		"fgauge":                       `0.25`,
		"set":                          `[{"count":2,"value":"a"},{"count":1,"value":5},{"count":1,"value":{"b":1}}]`,
		"nested":                       `{"x":1.5,"y":2}`,
		"nested_values":                `{"os":"linux"}`,
		"info":                         `{"major":2,"tags":["x"]}`,
		"list":                         `[true,"second"]`,
		"http.requests":                `[{"attributes":{"method":"GET","status":200},"value":2},{"attributes":{"method":"POST","status":500},"value":1}]`,
		"latency":                      `{"bounds":[1,10],"bucket_counts":[1,1,0],"count":2,"max":5,"min":0.5,"sum":5.5}`,
		"exp_hist":                     `{"count":1,"max":3,"min":3,"negative":{"bucket_counts":[],"offset":0},"positive":{"bucket_counts":[1],"offset":1},"scale":0,"sum":3,"zero_count":0,"zero_threshold":0}`,
		"tls_client_hello_ua:3fa2c1b0": `1`,
	}
	for key, w := range want {
		if g := encode(t, got[key]); g != w {
			t.Errorf("%s:\n got %s\nwant %s", key, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("data has %d keys, want %d: %v", len(got), len(want), got)
	}
}

func TestConversionOfSummaryAndAttributedHistogram(t *testing.T) {
	s := servertest.New(t)
	exp := newExporter(t, s)
	rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
		{Name: "summary", Data: metricdata.Summary{DataPoints: []metricdata.SummaryDataPoint{{
			Count: 2, Sum: 3, QuantileValues: []metricdata.QuantileValue{{Quantile: 0.5, Value: 1}},
		}}}},
		{Name: "hist", Data: metricdata.Histogram[int64]{DataPoints: []metricdata.HistogramDataPoint[int64]{{
			Attributes: attribute.NewSet(attribute.String("route", "/")), Count: 1, Sum: 4, Bounds: []float64{5}, BucketCounts: []uint64{1, 0},
		}}}},
	}}}}
	if err := exp.Export(context.Background(), rm); err != nil {
		t.Fatal(err)
	}
	got := s.Wait(t, 1)[0].Payload(t)
	if g, w := encode(t, got.Data["summary"]), `{"count":2,"quantiles":[{"quantile":0.5,"value":1}],"sum":3}`; g != w {
		t.Errorf("summary: got %s want %s", g, w)
	}
	if g, w := encode(t, got.Data["hist"]), `[{"attributes":{"route":"/"},"bounds":[5],"bucket_counts":[1,0],"count":1,"sum":4}]`; g != w {
		t.Errorf("hist: got %s want %s", g, w)
	}
}

func TestUnencodableValueIsDroppedAlone(t *testing.T) {
	rec := servertest.CaptureErrors(t)
	p := newPipeline(t)
	ctx := context.Background()
	bad, _ := p.meter.Float64Gauge("bad")
	bad.Record(ctx, math.NaN())
	inf, _ := p.meter.Float64Counter("inf")
	inf.Add(ctx, math.Inf(1))
	good, _ := p.meter.Int64Counter("good")
	good.Add(ctx, 9)

	got := p.flush(t)
	if got.Int("good") != 9 || len(got.Data) != 1 {
		t.Errorf("data %v, want only good=9", got.Data)
	}
	if errs := rec.Messages(); len(errs) != 2 {
		t.Errorf("reported %d problems, want 2 (bad, inf): %v", len(errs), errs)
	}
}

func TestRuntimeFiguresAreAddedAndFiltered(t *testing.T) {
	s := servertest.New(t)
	exp := newExporter(t, s, exporter.WithRuntimeFigures(true), exporter.WithDisabledKeys("memory"))
	if err := exp.Export(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	got := s.Wait(t, 1)[0].Payload(t)
	if got.Int("goroutines") < 1 {
		t.Errorf("goroutines = %v", got.Data["goroutines"])
	}
	if _, ok := got.Data["memory"]; ok {
		t.Errorf("disabled key memory was sent: %v", got.Data["memory"])
	}

	s2 := servertest.New(t)
	exp2 := newExporter(t, s2, exporter.WithRuntimeFigures(true))
	if err := exp2.Export(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	mem, _ := s2.Wait(t, 1)[0].Payload(t).Data["memory"].(map[string]any)
	if mem["heap_alloc"].(float64) <= 0 || mem["sys"].(float64) <= 0 {
		t.Errorf("memory = %v, want heap_alloc and sys", mem)
	}
}
