package telemetryreceiver

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/exporter"
)

// newExporter is this library's exporter, reporting to base as testID.
func newExporter(t *testing.T, base string, attempts int) *exporter.Exporter {
	t.Helper()
	exp, err := exporter.New(
		exporter.WithEndpoint(base),
		exporter.WithInstanceID(testID),
		exporter.WithRuntimeFigures(false),
		exporter.WithMetricTypes(true),
		exporter.WithRetry(exporter.RetryConfig{Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 10 * time.Millisecond, MaxAttempts: attempts}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// onlyUpdate returns the single pmetric.Metrics the sink holds.
func onlyUpdate(t *testing.T, sink *consumertest.MetricsSink) pmetric.Metrics {
	t.Helper()
	all := sink.AllMetrics()
	if len(all) != 1 {
		t.Fatalf("the pipeline got %d updates, want 1", len(all))
	}
	if id, _ := all[0].ResourceMetrics().At(0).Resource().Attributes().Get(AttrInstanceID); id.Str() != testID.String() {
		t.Errorf("%s = %q, want %q", AttrInstanceID, id.Str(), testID)
	}
	return all[0]
}

func TestRoundTripOfOpenTelemetryInstruments(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	base := startReceiver(t, testConfig(), sink)
	reader := exporter.NewReader(newExporter(t, base, 1))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Name: "sizes"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 4, MaxScale: 0}},
	)))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	m, ctx := mp.Meter("app"), context.Background()
	get, notFound := metric.WithAttributes(attribute.String("method", "GET"), attribute.Int("code", 200)),
		metric.WithAttributes(attribute.String("method", "GET"), attribute.Int("code", 404))

	requests, _ := m.Int64Counter("http.requests")
	requests.Add(ctx, 80, get)
	requests.Add(ctx, 40, notFound)
	active, _ := m.Int64UpDownCounter("http.active")
	active.Add(ctx, 3)
	bytesOut, _ := m.Float64Counter("bytes.out")
	bytesOut.Add(ctx, 2048)
	cpus, _ := m.Int64Gauge("cpus")
	cpus.Record(ctx, 2)
	temp, _ := m.Float64Gauge("temperature")
	temp.Record(ctx, 21.5, metric.WithAttributes(attribute.String("room", "hall")))
	latency, _ := m.Float64Histogram("latency", metric.WithExplicitBucketBoundaries(0.1, 1))
	latency.Record(ctx, 0.05)
	latency.Record(ctx, 0.5)
	sizes, _ := m.Int64Histogram("sizes")
	sizes.Record(ctx, 3)
	sizes.Record(ctx, 0)

	if err := reader.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	checkLines(t, onlyUpdate(t, sink),
		`bytes.out counter = 2048.0`,
		`cpus gauge = 2`,
		`http.active sum = 3`,
		`http.requests counter {code=200, method="GET"} = 80`,
		`http.requests counter {code=404, method="GET"} = 40`,
		`latency histogram = count=2 sum=0.55 min=0.05 max=0.5 bounds=[0.1 1] counts=[1 1 0]`,
		`sizes exphistogram = count=2 sum=3 scale=0 zero=1/0 positive=1[1] negative=0[]`,
		`temperature gauge {room="hall"} = 21.5`,
	)
}

func TestRoundTripOfTheDocumentedAPI(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	base := startReceiver(t, testConfig(), sink)
	b, err := compat.New(newExporter(t, base, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Shutdown(context.Background()) }()

	b.Increment("http_requests")
	b.Add("http_requests", 4)
	b.Add("tls_client_hello_ua:3fa2c1b0", 2)
	b.Set("arch", "amd64")
	b.Set("cpus", 8)
	b.SetNested("build", "go", "go1.26")
	b.SetNested("build", "workers", 4)
	b.Append("events", "start")
	b.Append("events", "ready")
	b.AppendUnique("user_agent", "4f9f2cab")
	b.AppendUnique("user_agent", "4f9f2cab")
	b.AppendUnique("user_agent", "3e317ef")

	if err := b.Reader().ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkLines(t, onlyUpdate(t, sink),
		`arch gauge {telemetry.value="amd64"} = 1`,
		`build gauge {telemetry.subkey="go", telemetry.value="go1.26"} = 1`,
		`build gauge {telemetry.subkey="workers"} = 4`,
		`cpus gauge = 8`,
		`events gauge {telemetry.index=0, telemetry.value="start"} = 1`,
		`events gauge {telemetry.index=1, telemetry.value="ready"} = 1`,
		`http_requests sum = 5`,
		`tls_client_hello_ua sum {telemetry.key_suffix="3fa2c1b0"} = 2`,
		`user_agent counter {telemetry.value="3e317ef"} = 1`,
		`user_agent counter {telemetry.value="4f9f2cab"} = 2`,
	)
}

func TestBackpressureDelaysFiguresWithoutLosingOrRepeatingThem(t *testing.T) {
	cfg := testConfig()
	cfg.RetryAfter = time.Second
	sink := &refusingSink{err: errors.New("memory limit reached")}
	base := startReceiver(t, cfg, sink)
	b, err := compat.New(newExporter(t, base, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Shutdown(context.Background()) }()
	ctx := context.Background()

	// Two refusals, then the third attempt is taken.
	sink.refusals.Store(2)
	b.Add("requests", 5)
	if err := b.Reader().ForceFlush(ctx); err != nil {
		t.Fatalf("the update should get through on its third attempt: %v", err)
	}
	checkLines(t, onlyUpdate(t, &sink.MetricsSink), `requests sum = 5`)

	// Every attempt refused: the figures stay with the client, which sends
	// that update again with its key, and what was recorded since: each
	// figure arrives once, whether in one update or two.
	sink.Reset()
	sink.refusals.Store(3)
	b.Add("requests", 2)
	if err := b.Reader().ForceFlush(ctx); err == nil {
		t.Fatal("an update refused on every attempt reported success")
	}
	if n := sink.DataPointCount(); n != 0 {
		t.Fatalf("%d points stored from refused attempts", n)
	}
	b.Add("requests", 1)
	if err := b.Reader().ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sumOf(&sink.MetricsSink, "requests"); got != 3 {
		t.Errorf("the pipeline got requests = %d over %d updates, want 3", got, len(sink.AllMetrics()))
	}
}

// sumOf adds the integer points of the metric name over every update the
// sink got.
func sumOf(sink *consumertest.MetricsSink, name string) int64 {
	var total int64
	for _, md := range sink.AllMetrics() {
		ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
		for i := range ms.Len() {
			if m := ms.At(i); m.Name() == name && m.Type() == pmetric.MetricTypeSum {
				for j := range m.Sum().DataPoints().Len() {
					total += m.Sum().DataPoints().At(j).IntValue()
				}
			}
		}
	}
	return total
}
