package fleetprocessor

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
)

// loadgenLike fills an update shaped as deploy/loadgen's: 40 counters, a
// version, four counting-set members (two shared, two nearly the
// instance's own), three nested members, goroutines, two memory figures
// and five flags.
func loadgenLike(ms pmetric.MetricSlice, i int) {
	for j := range 40 {
		addCount(ms, "c"+strconv.Itoa(j), false, int64(i%7))
	}
	addValue(ms, "version", "1."+strconv.Itoa(i%3))
	for _, ua := range []string{"common-" + strconv.Itoa(i%5), "mid-" + strconv.Itoa(i%200),
		"tail-" + strconv.Itoa(i/4), "own-" + strconv.Itoa(i)} {
		addCount(ms, "agent", true, 1, attrValue, ua)
	}
	addValue(ms, "build", "linux", "telemetry.subkey", "os")
	addValue(ms, "build", "amd64", "telemetry.subkey", "arch")
	addReading(ms, "build", float64(i%16), "telemetry.subkey", "cores")
	addReading(ms, "goroutines", float64(i%50))
	addReading(ms, "memory", float64(i<<20), "telemetry.subkey", "heap_alloc")
	addReading(ms, "memory", float64(i<<21), "telemetry.subkey", "sys")
	for j := range 5 {
		addValue(ms, "f"+strconv.Itoa(j), strconv.FormatBool(i>>j&1 == 1))
	}
}

func instanceUpdate(i int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(attrInstanceID, instanceID(i))
	loadgenLike(rm.ScopeMetrics().AppendEmpty().Metrics(), i)
	return md
}

// BenchmarkConsume is one loadgen-like update of a new instance (b.N
// instances in all): the processor's share of ingest.
//
//	cd collector && go test -run '^$' -bench Consume -benchmem -count 6 ./fleetprocessor
func BenchmarkConsume(b *testing.B) {
	cfg := testConfig()
	p := newProcessor(cfg, processortest.NewNopSettings(Type), new(discard))
	updates := make([]pmetric.Metrics, 1000)
	for i := range updates {
		updates[i] = instanceUpdate(i)
	}
	b.ResetTimer()
	for i := range b.N {
		md := updates[i%len(updates)]
		if err := p.ConsumeMetrics(context.Background(), md); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatePerInstance reports the heap the processor keeps per
// instance once 100,000 loadgen-like instances have reported (their
// own user agents retired into "other" is not counted: it needs a window
// to pass), and the series it keeps.
//
//	cd collector && go test -run '^$' -bench StatePerInstance -benchtime 1x -count 3 ./fleetprocessor
func BenchmarkStatePerInstance(b *testing.B) {
	const instances = 100_000
	for range b.N {
		cfg := testConfig()
		p := newProcessor(cfg, processortest.NewNopSettings(Type), new(discard))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range instances {
			if err := p.ConsumeMetrics(context.Background(), instanceUpdate(i)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/instances, "heap-bytes/instance")
		b.ReportMetric(float64(p.agg.series), "series")
		runtime.KeepAlive(p)
	}
}

type discard = consumertest.MetricsSink
