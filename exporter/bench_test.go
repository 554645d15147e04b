package exporter_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
)

// nativeCollection is what a program that plugs the exporter into its
// MeterProvider collects: a request counter with one series per attribute
// set (strings, an integer, a boolean, a float, a string slice), a latency
// histogram with 100 series and 20 plain counters, points in all.
func nativeCollection(b *testing.B, points int) *metricdata.ResourceMetrics {
	reader := sdkmetric.NewManualReader()
	// No cardinality limit: the SDK would fold series past 2,000 into one.
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithCardinalityLimit(0)).Meter("bench")
	requests, _ := meter.Int64Counter("http.server.request.count")
	latency, _ := meter.Float64Histogram("http.server.request.duration")
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	ctx := context.Background()
	for i := range points - 100 - 20 {
		requests.Add(ctx, int64(1+i%17), metric.WithAttributes(
			attribute.String("http.request.method", methods[i%4]),
			attribute.String("url.template", fmt.Sprintf("/api/v1/items/%d", i)),
			attribute.Int("http.response.status_code", 200+i%5),
			attribute.Bool("cache.hit", i%3 == 0),
			attribute.Float64("sample.ratio", float64(i%100)/100),
			attribute.StringSlice("tags", []string{"a", methods[i%4]}),
		))
	}
	for i := range 100 {
		for j := range 10 {
			latency.Record(ctx, float64(j)*0.013+float64(i)*0.001, metric.WithAttributes(
				attribute.String("http.route", fmt.Sprintf("/r/%d", i)), attribute.Int("shard", i%8)))
		}
	}
	for i := range 20 {
		c, _ := meter.Int64Counter(fmt.Sprintf("jobs.completed.%d", i))
		c.Add(ctx, int64(i))
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		b.Fatal(err)
	}
	return &rm
}

// changeValues moves every figure, as the next collection would.
func changeValues(rm *metricdata.ResourceMetrics, step int64) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for i := range d.DataPoints {
					d.DataPoints[i].Value += step
				}
			case metricdata.Histogram[float64]:
				for i := range d.DataPoints {
					d.DataPoints[i].Count += uint64(step)
					d.DataPoints[i].Sum += float64(step) / 10
				}
			}
		}
	}
}

// sink answers every request as the protocol's server does, after reading
// the body: a JSON Response, which an OTLP client also takes as success.
func sink(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"next_update":3600000000000}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkExportNative exports the same collection of OpenTelemetry data
// through this exporter and through otlpmetrichttp, the exporter a user
// would otherwise pick, both to a loopback server.
func BenchmarkExportNative(b *testing.B) {
	for _, points := range []int{1_000, 10_000, 100_000} {
		rm := nativeCollection(b, points)
		srv := sink(b)
		b.Run(fmt.Sprintf("points=%d/impl=telemetry", points), func(b *testing.B) {
			exp, err := exporter.New(exporter.WithEndpoint(srv.URL+"/v1/update/"), exporter.WithInstanceID(uuid.New()))
			if err != nil {
				b.Fatal(err)
			}
			runExport(b, exp, rm, points)
		})
		b.Run(fmt.Sprintf("points=%d/impl=otlpmetrichttp", points), func(b *testing.B) {
			exp, err := otlpmetrichttp.New(context.Background(), otlpmetrichttp.WithEndpointURL(srv.URL+"/v1/metrics"))
			if err != nil {
				b.Fatal(err)
			}
			runExport(b, exp, rm, points)
		})
	}
}

func runExport(b *testing.B, exp sdkmetric.Exporter, rm *metricdata.ResourceMetrics, points int) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		changeValues(rm, int64(i%7+1))
		b.StartTimer()
		if err := exp.Export(ctx, rm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(points), "ns/point")
}
