package fleetprocessor

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// TestAMovedInstanceCountsTwiceForAtMostTheWindow: instances move from
// replica A (alive) to B. Until the window has passed since their last
// update on A, both count them; then A lets go, and the sum is exact.
func TestAMovedInstanceCountsTwiceForAtMostTheWindow(t *testing.T) {
	cfg := testConfig()
	a, b := newTestProcessor(t, cfg), newTestProcessor(t, cfg)
	version := func(ms pmetric.MetricSlice) { addValue(ms, "version", "1.0") }
	for i := range 10 {
		a.send(t, i, version)
	}
	moved := a.clock
	for _, p := range []*testProcessor{a, b} {
		p.clock = moved.Add(time.Minute)
	}
	for i := range 10 {
		b.send(t, i, version)
	}
	instances := func(at time.Duration) float64 {
		a.clock, b.clock = moved.Add(at), moved.Add(at)
		return a.fleet(t)["fleet.version.instances"][key(attrValue, "1.0")] +
			b.fleet(t)["fleet.version.instances"][key(attrValue, "1.0")]
	}
	if n := instances(cfg.Window); n != 20 {
		t.Errorf("at the window's end: %v instances of 1.0, want both replicas' 20", n)
	}
	if n := instances(cfg.Window + time.Nanosecond); n != 10 {
		t.Errorf("just after the window: %v instances of 1.0, want 10", n)
	}
}

// TestHalfAMillionDistinctValuesStayWithinTheCaps: a hostile fleet sends
// half a million distinct set members and Set values; the series kept stay at
// max_series, the totals stay whole, and the heap stays bounded.
func TestHalfAMillionDistinctValuesStayWithinTheCaps(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSeries = 1000
	tp := newTestProcessor(t, cfg)
	const instances, perUpdate = 100, 5_000
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range instances {
		tp.send(t, i, func(ms pmetric.MetricSlice) {
			for j := range perUpdate {
				addCount(ms, "agent", true, 1, attrValue, strconv.Itoa(i*perUpdate+j))
			}
			addValue(ms, "version", "v"+strconv.Itoa(i))
		})
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	// The cap, and one overflow slot per metric.
	if tp.agg.series > cfg.MaxSeries+1 {
		t.Errorf("%d series kept, cap %d", tp.agg.series, cfg.MaxSeries)
	}
	got := tp.fleet(t)
	total := 0.0
	for _, v := range got["fleet.agent"] {
		total += v
	}
	if total != instances*perUpdate || len(got["fleet.agent"]) != 1 {
		t.Errorf("agent: %d series adding up to %v, want only other with %d", len(got["fleet.agent"]), total, instances*perUpdate)
	}
	if v := got["fleet.version.instances"]; v[key(attrValue, "other")] != instances || len(v) != 1 {
		t.Errorf("versions %v, want %d instances under other", v, instances)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Errorf("the heap grew by %d MiB for a cap of %d series", grew>>20, cfg.MaxSeries)
	}
}

// TestQuietSeriesRetireIntoOther: a series nobody reports within the
// window is let go, and its total stays in its metric's other.
func TestQuietSeriesRetireIntoOther(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	for i := range 5 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addCount(ms, "agent", true, 3, attrValue, "old") })
	}
	tp.clock = tp.clock.Add(tp.cfg.Window / 2)
	for i := range 5 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addCount(ms, "agent", true, 1, attrValue, "new") })
	}
	tp.clock = tp.clock.Add(tp.cfg.Window/2 + time.Second)
	got := tp.fleet(t)["fleet.agent"]
	if got[key(attrValue, "new")] != 5 || got[key(attrValue, "other")] != 15 || len(got) != 2 {
		t.Errorf("agents %v, want new 5 and other 15", got)
	}
	if len(tp.agg.counts) != 1 {
		t.Errorf("%d count series kept, want 1", len(tp.agg.counts))
	}
}

// TestAWindowShorterThanTheIntervalIsNoticed: instances that come back
// after their window are counted, so an operator sees the misconfiguration.
func TestAWindowShorterThanTheIntervalIsNoticed(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	for i := range 5 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addValue(ms, "version", "1.0") })
	}
	tp.clock = tp.clock.Add(tp.cfg.Window + time.Second)
	if n := tp.fleet(t)["fleet.version.instances"]; len(n) != 0 {
		t.Errorf("after the window: %v, want no instances", n)
	}
	for i := range 5 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addValue(ms, "version", "1.0") })
	}
	if got := tp.fleet(t)["fleet.processor.returned_after_window"][key()]; got != 5 {
		t.Errorf("returned_after_window %v, want 5", got)
	}
}

func TestTheSampleIsTheSameOnEveryReplicaAndNearItsRate(t *testing.T) {
	cfg := testConfig()
	cfg.SampleRate = 0.01
	a, b := newTestProcessor(t, cfg), newTestProcessor(t, cfg)
	const n = 20_000
	sampled := 0
	for i := range n {
		h := instanceHash(instanceID(i))
		if a.agg.sampled(h) != b.agg.sampled(h) {
			t.Fatal("two replicas disagree on the sample")
		}
		if a.agg.sampled(h) {
			sampled++
		}
	}
	if sampled < n/200 || sampled > n/50 {
		t.Errorf("%d of %d instances sampled at 1 %%", sampled, n)
	}
}

func TestTheSamplePassesThroughWithItsInstance(t *testing.T) {
	cfg := testConfig()
	cfg.SampleRate = 1
	tp := newTestProcessor(t, cfg)
	tp.send(t, 1, func(ms pmetric.MetricSlice) { addCount(ms, "requests", false, 3) })
	all := tp.sink.AllMetrics()
	if len(all) != 1 {
		t.Fatalf("%d batches passed through, want 1", len(all))
	}
	id, _ := all[0].ResourceMetrics().At(0).Resource().Attributes().Get(attrInstanceID)
	if id.Str() != instanceID(1) {
		t.Errorf("passed through as %q, want %q", id.Str(), instanceID(1))
	}
}

func TestShutdownSendsTheTotalsOnceMore(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	for i := range 5 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addCount(ms, "requests", false, 2) })
	}
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, md := range tp.sink.AllMetrics() {
		ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
		for _, m := range ms.All() {
			collect(t, out, m, tp.cfg)
		}
	}
	if got := out["fleet.requests"][key()]; got != 10 {
		t.Errorf("the last export holds %v requests, want 10", got)
	}
}
