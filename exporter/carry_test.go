package exporter_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
)

func collection(metrics ...metricdata.Metrics) *metricdata.ResourceMetrics {
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: metrics}}}
}

func sum(name string, pts ...metricdata.DataPoint[int64]) metricdata.Metrics {
	return metricdata.Metrics{Name: name, Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: pts}}
}

func gauge(name string, pts ...metricdata.DataPoint[int64]) metricdata.Metrics {
	return metricdata.Metrics{Name: name, Data: metricdata.Gauge[int64]{DataPoints: pts}}
}

func pt(v int64, kv ...attribute.KeyValue) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(kv...), Value: v}
}

func member(v string, n int64) metricdata.DataPoint[int64] {
	return pt(n, attribute.String(payload.AttrValue, v))
}

func element(i int, v string) metricdata.DataPoint[int64] {
	return pt(1, attribute.Int(payload.AttrIndex, i), attribute.String(payload.AttrValue, v))
}

func sub(s string, v int64) metricdata.DataPoint[int64] {
	return pt(v, attribute.String(payload.AttrSubkey, s))
}

func histogram(count uint64, s float64, buckets ...uint64) metricdata.Metrics {
	return metricdata.Metrics{Name: "latency", Data: metricdata.Histogram[float64]{
		Temporality: metricdata.DeltaTemporality,
		DataPoints: []metricdata.HistogramDataPoint[float64]{{
			Count: count, Sum: s, Bounds: []float64{1}, BucketCounts: buckets,
			Min: metricdata.NewExtrema(0.5), Max: metricdata.NewExtrema(s),
		}},
	}}
}

func TestFailedUpdateIsCarriedIntoTheNext(t *testing.T) {
	s := servertest.New(t)
	// The server cannot be reached: the figures go with the next update.
	exp := newExporter(t, s, fastRetry(2), exporter.WithHTTPClient(refusingClient(t, 2)))
	ctx := context.Background()
	first := collection(
		sum("count", pt(5)),
		sum("set", member("a", 2)),
		gauge("list", element(0, "x"), element(1, "y")),
		gauge("version", pt(1)),
		gauge("build", sub("cpus", 2), sub("mem", 8)),
		histogram(2, 3, 1, 1),
	)
	if err := exp.Export(ctx, first); err == nil {
		t.Fatal("the update was delivered although the server is down")
	}
	second := collection(
		sum("count", pt(2)),
		sum("set", member("a", 1), member("b", 1)),
		gauge("list", element(0, "z")),
		gauge("version", pt(2)),
		gauge("build", sub("cpus", 4)),
		histogram(1, 2, 0, 1),
	)
	if err := exp.Export(ctx, second); err != nil {
		t.Fatal(err)
	}
	got := s.Requests()
	expectJSON(t, encodeAll(t, got[len(got)-1].Payload(t).Data), map[string]string{
		"count":   `7`,
		"set":     `[{"count":3,"value":"a"},{"count":1,"value":"b"}]`,
		"list":    `["x","y","z"]`,
		"version": `2`,
		"build":   `{"cpus":4,"mem":8}`,
		"latency": `{"bounds":[1],"bucket_counts":[1,2],"count":3,"max":3,"min":0.5,"sum":5}`,
	})

	// Delivered: nothing is carried any more.
	if err := exp.Export(ctx, collection()); err != nil {
		t.Fatal(err)
	}
	if p := s.Requests()[len(s.Requests())-1].Payload(t); p.Data != nil {
		t.Errorf("figures were sent twice: %v", p.Data)
	}
}

func TestStopAndRetirementDropWhatIsCarried(t *testing.T) {
	for _, status := range []int{http.StatusGone, http.StatusUnavailableForLegalReasons} {
		s := servertest.New(t, servertest.Reply{Status: 503}, servertest.Reply{Status: status})
		exp := newExporter(t, s, fastRetry(1))
		_ = exp.Export(context.Background(), collection(sum("count", pt(5))))
		_ = exp.Export(context.Background(), collection(sum("count", pt(1))))
		_ = exp.Export(context.Background(), collection(sum("count", pt(1))))
		if n := len(s.Requests()); n != 2 || !exp.Stopped() {
			t.Errorf("%d: %d requests, stopped %v", status, n, exp.Stopped())
		}
	}
}

func TestCarriedFiguresStayWithinTheItemBound(t *testing.T) {
	s := servertest.New(t)
	exp := newExporter(t, s, fastRetry(1), exporter.WithHTTPClient(refusingClient(t, 1)))
	values := func(prefix string, n int) metricdata.Metrics {
		pts := make([]metricdata.DataPoint[int64], n)
		for i := range pts {
			pts[i] = member(prefix+strconv.Itoa(i), 1)
		}
		return sum("set_"+prefix, pts...)
	}
	_ = exp.Export(context.Background(), collection(values("old", 60_000)))
	if err := exp.Export(context.Background(), collection(values("new", 60_000))); err != nil {
		t.Fatal(err)
	}
	got := s.Requests()
	p := got[len(got)-1].Payload(t)
	if n := len(p.Data["set_new"].([]any)); n != 60_000 {
		t.Errorf("the new figures lost items: %d", n)
	}
	if _, ok := p.Data["set_old"]; ok || p.Int(payload.KeyDropped) != 60_000 {
		t.Errorf("carried set kept: %v; dropped = %v, want 60000", ok, p.Data[payload.KeyDropped])
	}
}

func TestConcurrentFailedUpdatesMergeTheirFigures(t *testing.T) {
	s := servertest.New(t)
	const updates = 8
	exp := newExporter(t, s, fastRetry(1), exporter.WithHTTPClient(refusingClient(t, updates)))
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range updates {
		wg.Go(func() {
			route := attribute.String("http.route", "/r/"+strconv.Itoa(i%2))
			c := collection(
				sum("count", pt(int64(i+1))),
				sum("set", member("v"+strconv.Itoa(i), 1)),
				sum("requests", pt(1, attribute.String("method", "GET"), route)),
				metricdata.Metrics{Name: "latency", Data: metricdata.Histogram[float64]{
					Temporality: metricdata.DeltaTemporality,
					DataPoints: []metricdata.HistogramDataPoint[float64]{{
						Attributes: attribute.NewSet(route), Count: 1, Sum: 0.5, Bounds: []float64{1}, BucketCounts: []uint64{1, 0},
					}},
				}},
			)
			if err := exp.Export(ctx, c); err == nil {
				t.Error("an update was delivered although the server is down")
			}
		})
	}
	wg.Wait()
	// Other attributes, written into the buffers the failed updates used:
	// what is carried must not change with them.
	if err := exp.Export(ctx, collection(sum("requests", pt(1, attribute.String("method", "POST"))))); err != nil {
		t.Fatal(err)
	}
	got := s.Requests()
	data := encodeAll(t, got[len(got)-1].Payload(t).Data)
	want := map[string]string{
		"count": `36`,
		"requests": `[{"attributes":{"http.route":"/r/0","method":"GET"},"value":4},` +
			`{"attributes":{"http.route":"/r/1","method":"GET"},"value":4},{"attributes":{"method":"POST"},"value":1}]`,
		"latency": `[{"attributes":{"http.route":"/r/0"},"bounds":[1],"bucket_counts":[4,0],"count":4,"sum":2},` +
			`{"attributes":{"http.route":"/r/1"},"bounds":[1],"bucket_counts":[4,0],"count":4,"sum":2}]`,
	}
	set := `[`
	for i := range updates {
		if i > 0 {
			set += ","
		}
		set += `{"count":1,"value":"v` + strconv.Itoa(i) + `"}`
	}
	want["set"] = set + `]`
	expectJSON(t, data, want)
}

func TestCarriedPointsKeepTheirAttributes(t *testing.T) {
	s := servertest.New(t)
	exp := newExporter(t, s, fastRetry(1), exporter.WithHTTPClient(refusingClient(t, 1)))
	ctx := context.Background()
	_ = exp.Export(ctx, collection(sum("failed", pt(3, attribute.String("route", "/carried")), pt(1, attribute.String("route", "/kept")))))
	// The exporter reuses its buffers: this update's attributes are written
	// where the failed one's were.
	if err := exp.Export(ctx, collection(sum("next", pt(1, attribute.String("route", "/overwrites-it"))))); err != nil {
		t.Fatal(err)
	}
	got := s.Requests()
	expectJSON(t, encodeAll(t, got[len(got)-1].Payload(t).Data), map[string]string{
		"failed": `[{"attributes":{"route":"/carried"},"value":3},{"attributes":{"route":"/kept"},"value":1}]`,
		"next":   `[{"attributes":{"route":"/overwrites-it"},"value":1}]`,
	})
}
