package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/bridge"
	"github.com/telemetrybridge/telemetry/exporter"
)

// recorder is what both implementations offer the benchmarks.
type recorder interface {
	Increment(key string)
	Set(key string, v any)
	SetNested(key, sub string, v any)
	AppendUnique(key string, v any)
}

// compatRecorder goes through the package's global functions, as callers do.
type compatRecorder struct{}

func (compatRecorder) Increment(key string)             { Increment(key) }
func (compatRecorder) Set(key string, v any)            { Set(key, v) }
func (compatRecorder) SetNested(key, sub string, v any) { SetNested(key, sub, v) }
func (compatRecorder) AppendUnique(key string, v any)   { AppendUnique(key, v) }

// discard is a telemetry server that answers without looking.
func discard(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// initForBench initialises compat against a discarding server, with a
// disabled key so that both sides pay for the check.
func initForBench(b *testing.B) {
	b.Helper()
	quiet(b)
	fresh(b)
	srv := discard(b)
	InitWithOptions(uuid.New(), []string{"disabled"},
		WithExporterOptions(exporter.WithEndpoint(srv.URL+"/"), exporter.WithRuntimeFigures(false)))
}

// sides runs a benchmark on the baseline, on compat, and on a recorder
// that records nothing (impl=caller). The last is what the benchmark's own
// loop costs on both sides alike: the call itself, and where a benchmark
// makes its values per call (AppendUniqueFresh, Request,
// SetNestedChanging), the formatting, boxing and hashing. A side's figure
// less the caller's is its recording alone.
func sides(b *testing.B, run func(b *testing.B, r recorder)) {
	b.Run("impl=baseline", func(b *testing.B) { withCPU(b, func() { run(b, newBaseline("disabled")) }) })
	b.Run("impl=compat", func(b *testing.B) {
		initForBench(b)
		withCPU(b, func() { run(b, compatRecorder{}) })
	})
	b.Run("impl=caller", func(b *testing.B) { withCPU(b, func() { run(b, callerOnly{}) }) })
}

// callerOnly records nothing. It is called through the recorder interface
// as the others are, so the caller still boxes every value.
type callerOnly struct{}

func (callerOnly) Increment(string)              {}
func (callerOnly) Set(string, any)               {}
func (callerOnly) SetNested(string, string, any) {}
func (callerOnly) AppendUnique(string, any)      {}

// withCPU runs f and reports, beside ns/op, the CPU time the process spent
// per operation meanwhile (cpu-ns/op): every thread, the GC and the
// exporter's own goroutines included. On a machine shared with other
// work, wall time also counts the time the benchmark waited for a core;
// CPU time mostly does not, so its ratios move less between runs.
func withCPU(b *testing.B, f func()) {
	before, ok := processCPU()
	f()
	after, _ := processCPU()
	if ok && b.N > 0 {
		b.ReportMetric(float64(after-before)/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkIncrement(b *testing.B) {
	sides(b, func(b *testing.B, r recorder) {
		r.Increment("http_requests") // the key exists, as on a hot path
		settle(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.Increment("http_requests")
			}
		})
	})
}

// values are 1,000 distinct user-agent hashes.
func values() []any {
	vs := make([]any, 1000)
	for i := range vs {
		vs[i] = FastHash([]byte("agent-" + strconv.Itoa(i)))
	}
	return vs
}

func BenchmarkAppendUnique(b *testing.B) {
	vs := values()
	sides(b, func(b *testing.B, r recorder) {
		for _, v := range vs { // every value already seen
			r.AppendUnique("user_agent", v)
		}
		settle(b)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				r.AppendUnique("user_agent", vs[i%len(vs)])
				i++
			}
		})
	})
}

func BenchmarkSet(b *testing.B) {
	var version any = "1.4.2"
	sides(b, func(b *testing.B, r recorder) {
		settle(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.Set("version", version)
			}
		})
	})
}

func BenchmarkSetNested(b *testing.B) {
	subs := make([]string, 1000)
	for i := range subs {
		subs[i] = "sub" + strconv.Itoa(i)
	}
	var v any = "x"
	sides(b, func(b *testing.B, r recorder) {
		for range 2 { // every sub-key already set, as on a hot path
			for _, sub := range subs {
				r.SetNested("build", sub, v)
			}
		}
		settle(b)
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				r.SetNested("build", subs[i%len(subs)], v)
				i++
			}
		})
	})
}

// BenchmarkUpdate measures one update interval of a web server, as both
// sides spend it: 10,000 AppendUnique of user-agent hashes, each a string
// made anew as a request handler makes it, and 1,000 counters; then the
// update: the collection (the bridge's flush and the SDK's aggregation into
// a fresh ResourceMetrics; the baseline's copy of its buffer), conversion,
// encoding and the POST to a discarding loopback server.
func BenchmarkUpdate(b *testing.B) {
	work := newUpdateWork()
	b.Run("impl=baseline", func(b *testing.B) {
		base := newBaseline()
		srv := discard(b)
		client := &http.Client{}
		work.record(base) // a server in its steady state: the keys seen before
		base.payload("id")
		settle(b)
		withCPU(b, func() {
			for range b.N {
				work.record(base)
				p := base.payload("id")
				p.Timestamp = time.Now().UTC()
				body, err := json.Marshal(p)
				if err != nil {
					b.Fatal(err)
				}
				resp, err := client.Post(srv.URL+"/id", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close()
			}
		})
	})
	// In memory, as the baseline keeps its figures; and with a spool, as
	// Init has by default: the journal keeps every count, and each update
	// is written to disk, and synced, before it is sent.
	b.Run("impl=compat", func(b *testing.B) { compatUpdate(b, work, false) })
	b.Run("impl=compat_spooled", func(b *testing.B) { compatUpdate(b, work, true) })
	b.Run("impl=native", func(b *testing.B) { nativeUpdate(b, work) })
}

// compatUpdate is BenchmarkUpdate's interval recorded through the package,
// with a spool or without.
func compatUpdate(b *testing.B, work updateWork, spooled bool) {
	srv := discard(b)
	opts := []exporter.Option{exporter.WithEndpoint(srv.URL + "/"), exporter.WithInstanceID(uuid.New()), exporter.WithRuntimeFigures(false)}
	if spooled {
		opts = append(opts, exporter.WithSpool(b.TempDir()))
	}
	exp, err := exporter.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	br, err := New(exp)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Cleanup(func() { _ = br.Shutdown(ctx) }) // one instance at a time, as in a program
	work.record(br)                            // a server in its steady state: the keys seen before
	var first metricdata.ResourceMetrics
	if err := br.Reader().Collect(ctx, &first); err != nil {
		b.Fatal(err)
	}
	settle(b)
	withCPU(b, func() {
		for range b.N {
			work.record(br)
			var rm metricdata.ResourceMetrics
			if err := br.Reader().Collect(ctx, &rm); err != nil {
				b.Fatal(err)
			}
			if err := exp.Export(ctx, &rm); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// nativeUpdate is BenchmarkUpdate's interval recorded as a program would
// with its own OpenTelemetry instruments: a counter with the user agent as
// an attribute, and 1,000 counters.
func nativeUpdate(b *testing.B, work updateWork) {
	srv := discard(b)
	exp, err := exporter.New(exporter.WithEndpoint(srv.URL+"/"), exporter.WithInstanceID(uuid.New()), exporter.WithRuntimeFigures(false))
	if err != nil {
		b.Fatal(err)
	}
	collector := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(exp.Temporality),
		sdkmetric.WithCardinalityLimitSelector(func(sdkmetric.InstrumentKind) (int, bool) { return 0, false }))
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(collector)).Meter("bench")
	ctx := context.Background()
	agents, _ := meter.Int64Counter("user_agent")
	counters := make([]metric.Int64Counter, len(work.counters))
	for i, key := range work.counters {
		counters[i], _ = meter.Int64Counter(key)
	}
	settle(b)
	for range b.N {
		for _, h := range work.agents {
			agents.Add(ctx, 1, metric.WithAttributes(attribute.String("agent", strconv.FormatUint(h, 16))))
		}
		for _, c := range counters {
			c.Add(ctx, 1)
		}
		var rm metricdata.ResourceMetrics
		if err := collector.Collect(ctx, &rm); err != nil {
			b.Fatal(err)
		}
		if err := exp.Export(ctx, &rm); err != nil {
			b.Fatal(err)
		}
	}
}

// updateWork is what BenchmarkUpdate records in each interval.
type updateWork struct {
	agents   []uint64 // 10,000 user-agent hashes
	counters []string // 1,000 counter keys, made once as a program's keys are
}

func newUpdateWork() updateWork {
	var w updateWork
	for i := range 10_000 {
		h, _ := strconv.ParseUint(FastHash([]byte("agent-"+strconv.Itoa(i))), 16, 32)
		w.agents = append(w.agents, h)
	}
	for i := range 1000 {
		w.counters = append(w.counters, "counter_"+strconv.Itoa(i))
	}
	return w
}

// record records one interval's calls; each hash is a fresh string.
func (w updateWork) record(r recorder) {
	for _, h := range w.agents {
		r.AppendUnique("user_agent", strconv.FormatUint(h, 16))
	}
	for _, key := range w.counters {
		r.Increment(key)
	}
}

// BenchmarkMemory reports the live heap after recording 100,000 distinct
// items, and after the update that sends them.
func BenchmarkMemory(b *testing.B) {
	for range b.N {
		initForBench(b)
		before := liveHeap()
		for i := range bridge.MaxItems - 1 { // the key itself is an item too
			AppendUnique("user_agent", i)
		}
		recorded := liveHeap()
		c := current.Load()
		if err := c.bridge.Reader().ForceFlush(context.Background()); err != nil {
			b.Fatal(err)
		}
		sent := liveHeap()
		if err := c.bridge.Reader().ForceFlush(context.Background()); err != nil { // idle values are let go after a quiet interval
			b.Fatal(err)
		}
		settled := liveHeap()
		b.ReportMetric(float64(recorded-before)/(1<<20), "MiB-recorded")
		b.ReportMetric(float64(sent-before)/(1<<20), "MiB-after-update")
		b.ReportMetric(float64(settled-before)/(1<<20), "MiB-settled")
	}
}

func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkIncrementWhileServerHangs records while an update hangs on a
// server that never answers: recording does not wait for the network, so
// this costs what BenchmarkIncrement does.
func BenchmarkIncrementWhileServerHangs(b *testing.B) {
	quiet(b)
	fresh(b)
	hung := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hung:
		case <-r.Context().Done():
		}
	}))
	b.Cleanup(func() { close(hung); srv.Close() })
	InitWithOptions(uuid.New(), nil, WithExporterOptions(exporter.WithEndpoint(srv.URL+"/"), exporter.WithRuntimeFigures(false)))
	StartEmitting() // the first update now hangs
	Increment("http_requests")
	settle(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			Increment("http_requests")
		}
	})
}

// quiet drops what reaches OTel's error handler during a benchmark (the
// abandoned updates of a hanging server, for one), so that the figures are
// readable.
func quiet(b *testing.B) {
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	b.Cleanup(func() { otel.SetErrorHandler(prev) })
}

// settle starts the timed part of a benchmark: setup garbage (bridges,
// servers) is collected first, so that no GC cycle it started runs into
// the figures of either implementation.
func settle(b *testing.B) {
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
}
