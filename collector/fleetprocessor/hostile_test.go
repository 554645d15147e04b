package fleetprocessor

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// TestHostileInputStaysOutOfTheFleetSeries: non-finite readings, metrics
// named as the processor's own figures, and values too long to be anyone
// else's do not reach the fleet series (the long one counts in "other").
func TestHostileInputStaysOutOfTheFleetSeries(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	long := strings.Repeat("x", 2*maxKeyBytes)
	for i := range 6 {
		tp.send(t, i, func(ms pmetric.MetricSlice) {
			addReading(ms, "goroutines", math.NaN())
			addReading(ms, "goroutines", float64(i))
			addCount(ms, "processor.instances", false, 1_000_000)
			addCount(ms, "agent", true, 1, attrValue, long)
		})
	}
	got := tp.fleet(t)
	if g := got["fleet.goroutines"]; g[key()+"sum"] != 15 || g[key()] != 6 {
		t.Errorf("goroutines %v: a NaN reached the histogram", g)
	}
	if n := got["fleet.processor.instances"][key()]; n != 6 {
		t.Errorf("fleet.processor.instances = %v, want the 6 instances, not an instance's own metric", n)
	}
	if a := got["fleet.agent"]; a[key(attrValue, "other")] != 6 || len(a) != 1 {
		t.Errorf("agents %v, want the long value in other", a)
	}
	if n := got["fleet.processor.dropped_points"][key("reason", dropNotFinite)]; n != 6 {
		t.Errorf("%v non-finite points counted, want 6", n)
	}
}

// TestInstancesPastTheirWindowMakeRoomAtTheCap: a burst of instances that
// never come back fills max_instances; once their window has passed, new
// instances are counted, not refused for the dead ones' sake.
func TestInstancesPastTheirWindowMakeRoomAtTheCap(t *testing.T) {
	cfg := testConfig()
	cfg.MaxInstances = 10
	tp := newTestProcessor(t, cfg)
	for i := range 10 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addValue(ms, "version", "burst") })
	}
	tp.clock = tp.clock.Add(cfg.Window + time.Second)
	tp.fleet(t) // the sweep: their window has passed
	for i := 100; i < 105; i++ {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addValue(ms, "version", "1.0") })
	}
	if n := tp.fleet(t)["fleet.version.instances"][key(attrValue, "1.0")]; n != 5 {
		t.Errorf("%v new instances counted at the cap, want 5", n)
	}
}
