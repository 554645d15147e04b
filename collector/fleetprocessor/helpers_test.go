package fleetprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
)

// testProcessor is a started processor with a clock the test moves, and
// what it sent on.
type testProcessor struct {
	*fleetProcessor
	sink  *consumertest.MetricsSink
	clock time.Time
}

func testConfig() *Config {
	cfg := defaultConfig()
	cfg.Replica = "r1"
	cfg.SampleRate = 0
	cfg.Window = 10 * time.Minute
	cfg.ExportInterval = cfg.Window // the test exports by hand, long before the timer
	return cfg
}

func newTestProcessor(t *testing.T, cfg *Config) *testProcessor {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(Type), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	tp := &testProcessor{fleetProcessor: p.(*fleetProcessor), sink: sink, clock: time.Unix(1_700_000_000, 0)}
	tp.now = func() time.Time { return tp.clock }
	if err := p.Start(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return tp
}

// send hands the processor one update of instance i, built by fill.
func (tp *testProcessor) send(t *testing.T, i int, fill func(pmetric.MetricSlice)) {
	t.Helper()
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(attrInstanceID, instanceID(i))
	fill(rm.ScopeMetrics().AppendEmpty().Metrics())
	if err := tp.ConsumeMetrics(context.Background(), md); err != nil {
		t.Fatal(err)
	}
}

func instanceID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// fleet exports now and returns the fleet series by name, then the
// series' attributes (without the replica's), as "k=v,..." text.
func (tp *testProcessor) fleet(t *testing.T) map[string]map[string]float64 {
	t.Helper()
	tp.sink.Reset()
	if err := tp.export(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, md := range tp.sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			if _, ok := rm.Resource().Attributes().Get(attrInstanceID); ok {
				continue // the sample
			}
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					collect(t, out, m, tp.cfg)
				}
			}
		}
	}
	return out
}

func collect(t *testing.T, out map[string]map[string]float64, m pmetric.Metric, cfg *Config) {
	series := out[m.Name()]
	if series == nil {
		series = map[string]float64{}
		out[m.Name()] = series
	}
	label := func(a pcommon.Map) string {
		if r, _ := a.Get(cfg.ReplicaAttribute); r.Str() != cfg.Replica {
			t.Errorf("%s without the replica's attribute: %v", m.Name(), a.AsRaw())
		}
		return seriesKey("", "", a, func(k string) bool { return k == cfg.ReplicaAttribute })[2:]
	}
	add := func(a pcommon.Map, v float64) {
		if _, dup := series[label(a)]; dup {
			t.Errorf("%s has two points %s", m.Name(), label(a))
		}
		series[label(a)] = v
	}
	switch m.Type() {
	case pmetric.MetricTypeSum:
		if m.Sum().AggregationTemporality() != pmetric.AggregationTemporalityCumulative {
			t.Errorf("%s is not cumulative", m.Name())
		}
		for _, dp := range m.Sum().DataPoints().All() {
			add(dp.Attributes(), number(dp))
		}
	case pmetric.MetricTypeGauge:
		for _, dp := range m.Gauge().DataPoints().All() {
			add(dp.Attributes(), number(dp))
		}
	case pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			add(dp.Attributes(), float64(dp.Count()))
			series[label(dp.Attributes())+"sum"] = dp.Sum()
		}
	}
}

func number(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

// The shapes the telemetry receiver produces.

func addCount(ms pmetric.MetricSlice, name string, monotonic bool, v int64, attrs ...string) {
	m := ms.AppendEmpty()
	m.SetName(name)
	s := m.SetEmptySum()
	s.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	s.SetIsMonotonic(monotonic)
	dp := s.DataPoints().AppendEmpty()
	dp.SetIntValue(v)
	putAttrs(dp.Attributes(), attrs)
}

func addValue(ms pmetric.MetricSlice, name, value string, attrs ...string) {
	m := ms.AppendEmpty()
	m.SetName(name)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(1)
	putAttrs(dp.Attributes(), append([]string{attrValue, value}, attrs...))
}

func addReading(ms pmetric.MetricSlice, name string, v float64, attrs ...string) {
	m := ms.AppendEmpty()
	m.SetName(name)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetDoubleValue(v)
	putAttrs(dp.Attributes(), attrs)
}

func putAttrs(m pcommon.Map, kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		m.PutStr(kv[i], kv[i+1])
	}
}

// key is how collect names a series of these attributes.
func key(kv ...string) string {
	m := pcommon.NewMap()
	putAttrs(m, kv)
	return seriesKey("", "", m, nil)[2:]
}
