package exporter_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
)

// freshRecorder records into a real SDK and collects a new
// ResourceMetrics each time, as exporter.Reader hands one to Export: new
// attribute sets, new slices, values that moved since the last collection.
// Its points are split over every data shape: integer counters, float
// up-down counters, integer gauges and float histograms.
type freshRecorder struct {
	reader   *sdkmetric.ManualReader
	points   int
	attrs    int
	counter  metric.Int64Counter
	upDown   metric.Float64UpDownCounter
	gauge    metric.Int64Gauge
	latency  metric.Float64Histogram
	round    int
	template []string // one route per series, made once like a program's routes
}

func newFreshRecorder(b *testing.B, points, attrs int) *freshRecorder {
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
		return metricdata.DeltaTemporality
	}))
	// No cardinality limit (the SDK would fold series past 2,000 into one)
	// and no exemplars: neither exporter sends them for telemetry keys.
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
		sdkmetric.WithCardinalityLimit(0), sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))
	b.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	meter := provider.Meter("bench")
	r := &freshRecorder{reader: reader, points: points, attrs: attrs}
	r.counter, _ = meter.Int64Counter("http.server.request.count")
	r.upDown, _ = meter.Float64UpDownCounter("queue.depth")
	r.gauge, _ = meter.Int64Gauge("pool.connections")
	r.latency, _ = meter.Float64Histogram("http.server.request.duration")
	for i := range points {
		r.template = append(r.template, fmt.Sprintf("/api/v1/items/%d", i))
	}
	return r
}

var benchMethods = []string{"GET", "POST", "PUT", "DELETE"}

// attributes returns series i's attribute set with the recorder's number
// of attributes; the route makes every series distinct.
func (r *freshRecorder) attributes(i int) metric.MeasurementOption {
	route := attribute.String("url.template", r.template[i])
	switch r.attrs {
	case 1:
		return metric.WithAttributes(route)
	case 2:
		return metric.WithAttributes(attribute.String("http.request.method", benchMethods[i%4]), route)
	default:
		return metric.WithAttributes(
			attribute.String("http.request.method", benchMethods[i%4]),
			route,
			attribute.Int("http.response.status_code", 200+i%5),
			attribute.Bool("cache.hit", i%3 == 0),
			attribute.Float64("sample.ratio", float64(i%100)/100),
			attribute.StringSlice("tags", []string{"a", benchMethods[i%4]}),
		)
	}
}

// collect records one interval's figures (every series moves) and
// returns the SDK's fresh collection of them.
func (r *freshRecorder) collect(b *testing.B) *metricdata.ResourceMetrics {
	ctx := context.Background()
	r.round++
	for i := range r.points {
		opt := r.attributes(i)
		switch i % 10 {
		case 0, 1:
			for j := range 3 {
				r.latency.Record(ctx, float64(j+r.round%7)*0.013+float64(i%100)*0.001, opt)
			}
		case 2:
			r.upDown.Add(ctx, float64(r.round%5)-2.5, opt)
		case 3:
			r.gauge.Record(ctx, int64(i%50+r.round), opt)
		default:
			r.counter.Add(ctx, int64(1+(i+r.round)%17), opt)
		}
	}
	rm := new(metricdata.ResourceMetrics)
	if err := r.reader.Collect(ctx, rm); err != nil {
		b.Fatal(err)
	}
	return rm
}

// countingSink answers every request as the protocol's server does and
// counts the body bytes it read.
func countingSink(b *testing.B, bytes *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		bytes.Add(n)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"next_update":3600000000000}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkExportFresh exports a fresh SDK collection per export through
// this exporter and through otlpmetrichttp, each with its default
// settings, to a loopback server: only Export is timed. body-B/export is
// what went over the wire.
//
// impl=exchange is this exporter's loopback exchange alone: a POST of a
// body as large as the one it sends for such a collection, with nothing to
// convert, through a default http.Client, after the same collection and
// garbage collection. otlpmetrichttp's bodies are larger (1.2 times at
// 1,000 and 10,000 points), so its own exchange takes somewhat longer.
func BenchmarkExportFresh(b *testing.B) {
	impls := []struct {
		name string
		make func(url string) (sdkmetric.Exporter, error)
	}{
		{"telemetry", func(url string) (sdkmetric.Exporter, error) {
			return exporter.New(exporter.WithEndpoint(url+"/v1/update/"), exporter.WithInstanceID(uuid.New()))
		}},
		{"otlpmetrichttp", func(url string) (sdkmetric.Exporter, error) {
			return otlpmetrichttp.New(context.Background(), otlpmetrichttp.WithEndpointURL(url+"/v1/metrics"))
		}},
	}
	for _, points := range []int{1_000, 10_000, 100_000} {
		for _, attrs := range []int{1, 2, 6} {
			for _, impl := range impls {
				b.Run(fmt.Sprintf("points=%d/attrs=%d/impl=%s", points, attrs, impl.name), func(b *testing.B) {
					var sent atomic.Int64
					srv := countingSink(b, &sent)
					exp, err := impl.make(srv.URL)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
					exportFresh(b, exp.Export, newFreshRecorder(b, points, attrs), &sent)
				})
			}
			b.Run(fmt.Sprintf("points=%d/attrs=%d/impl=exchange", points, attrs), func(b *testing.B) {
				var sent atomic.Int64
				srv := countingSink(b, &sent)
				post := exchangeOnly(srv.URL+"/v1/update/", telemetryBody(b, points, attrs))
				exportFresh(b, post, newFreshRecorder(b, points, attrs), &sent)
			})
		}
	}
}

// telemetryBody is the size of the body this exporter sends for a fresh
// collection of points with attrs attributes each.
func telemetryBody(b *testing.B, points, attrs int) int {
	var sent atomic.Int64
	srv := countingSink(b, &sent)
	exp, err := exporter.New(exporter.WithEndpoint(srv.URL+"/v1/update/"), exporter.WithInstanceID(uuid.New()))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = exp.Shutdown(context.Background()) }()
	if err := exp.Export(context.Background(), newFreshRecorder(b, points, attrs).collect(b)); err != nil {
		b.Fatal(err)
	}
	return int(sent.Load())
}

// exchangeOnly returns an export that sends a body of size bytes (spaces:
// the benchmark's server reads bodies without parsing them) and reads the
// answer, whatever the collection.
func exchangeOnly(url string, size int) func(context.Context, *metricdata.ResourceMetrics) error {
	body := bytes.Repeat([]byte(" "), size)
	client := &http.Client{}
	return func(ctx context.Context, _ *metricdata.ResourceMetrics) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("exchange: %s", resp.Status)
		}
		return nil
	}
}

func exportFresh(b *testing.B, export func(context.Context, *metricdata.ResourceMetrics) error, rec *freshRecorder, sent *atomic.Int64) {
	ctx := context.Background()
	b.ReportAllocs()
	var cpu int64 // the process's CPU time while Export runs, every goroutine included
	for b.Loop() {
		b.StopTimer()
		rm := rec.collect(b)
		// The collection's garbage is the SDK's: collect it before the
		// export is timed, so that each side pays for its own.
		runtime.GC()
		sent.Store(0)
		before, _ := processCPU()
		b.StartTimer()
		if err := export(ctx, rm); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		after, _ := processCPU()
		cpu += after - before
		b.StartTimer()
	}
	b.ReportMetric(float64(sent.Load()), "body-B/export")
	if cpu > 0 {
		// Wall time counts whatever else the machine runs; CPU time is what
		// the export cost this process, its server's goroutines included.
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rec.points), "ns/point")
}
