package fleetprocessor

import (
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestCountsAddUpAcrossInstancesAndRareValuesFold(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	want := int64(0)
	for i := range 20 {
		tp.send(t, i, func(ms pmetric.MetricSlice) {
			addCount(ms, "requests", false, int64(i))
			addCount(ms, "agent", true, 2, attrValue, "common")
			addCount(ms, "agent", true, 1, attrValue, "rare-"+strconv.Itoa(i%7)) // 2 or 3 instances each
		})
		want += int64(i)
	}
	got := tp.fleet(t)
	if r := got["fleet.requests"][key()]; r != float64(want) {
		t.Errorf("requests total %v, want %d", r, want)
	}
	agents := got["fleet.agent"]
	if agents[key(attrValue, "common")] != 40 || agents[key(attrValue, "other")] != 20 || len(agents) != 2 {
		t.Errorf("agents %v, want common 40 and other 20 (no rare value)", agents)
	}
}

func TestValuesCountInstancesByTheirLatestValue(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	for i := range 12 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addValue(ms, "version", "1.0") })
	}
	// Six move to 2.0, and one reports a version nobody else has.
	for i := range 6 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addValue(ms, "version", "2.0") })
	}
	tp.send(t, 11, func(ms pmetric.MetricSlice) { addValue(ms, "version", "3.0-only-me") })
	got := tp.fleet(t)["fleet.version.instances"]
	want := map[string]float64{key(attrValue, "1.0"): 5, key(attrValue, "2.0"): 6, key(attrValue, "other"): 1}
	if len(got) != len(want) {
		t.Fatalf("version counts %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v instances, want %v (all %v)", k, got[k], v, got)
		}
	}
}

func TestReadingsBecomeADistribution(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	for i := range 10 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addReading(ms, "goroutines", float64(i)) })
	}
	got := tp.fleet(t)["fleet.goroutines"]
	if got[key()] != 10 || got[key()+"sum"] != 45 {
		t.Errorf("goroutines histogram %v, want 10 instances summing to 45", got)
	}
}

func TestAMetricFewerThanKReportIsWithheld(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	for i := range 4 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addCount(ms, "secret_key_of_four", false, 1) })
	}
	if got := tp.fleet(t); got["fleet.secret_key_of_four"] != nil {
		t.Errorf("a metric of 4 instances was published: %v", got["fleet.secret_key_of_four"])
	}
	tp.send(t, 4, func(ms pmetric.MetricSlice) { addCount(ms, "secret_key_of_four", false, 1) })
	if got := tp.fleet(t)["fleet.secret_key_of_four"][key()]; got != 5 {
		t.Errorf("after a fifth instance the total is %v, want 5", got)
	}
}

// TestAVanishedSeriesEndsWithAZero: once nobody holds a value, its series
// gets a last point of 0, so that a query looking back over the window
// does not keep counting the instances that left it.
func TestAVanishedSeriesEndsWithAZero(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	for _, v := range []string{"1.0", "2.0"} {
		for i := range 5 {
			tp.send(t, i, func(ms pmetric.MetricSlice) {
				addValue(ms, "version", v)
			})
		}
		tp.clock = tp.clock.Add(time.Minute)
		got := tp.fleet(t)
		if v == "2.0" {
			if n, ok := got["fleet.version.instances"][key(attrValue, "1.0")]; !ok || n != 0 {
				t.Errorf("1.0 after everyone left it: %v (present %v), want a last 0", n, ok)
			}
		}
	}
	tp.clock = tp.clock.Add(time.Minute)
	if _, ok := tp.fleet(t)["fleet.version.instances"][key(attrValue, "1.0")]; ok {
		t.Error("the zero of 1.0 was sent again")
	}
}

func TestReadingsOfExpiredInstancesEndWithAnEmptyHistogram(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	for i := range 5 {
		tp.send(t, i, func(ms pmetric.MetricSlice) { addReading(ms, "cores", 4) })
	}
	if n := tp.fleet(t)["fleet.cores"][key()]; n != 5 {
		t.Fatalf("cores of %v instances, want 5", n)
	}
	tp.clock = tp.clock.Add(tp.cfg.Window + time.Second)
	if n, ok := tp.fleet(t)["fleet.cores"][key()]; !ok || n != 0 {
		t.Errorf("after the window: cores of %v instances (present %v), want a last empty histogram", n, ok)
	}
}
