package fleetprocessor

import (
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// writer turns the snapshot's series into pdata metrics, one metric per
// output name.
type writer struct {
	cfg        *Config
	out        pmetric.MetricSlice
	byName     map[string]pmetric.Metric
	start, now pcommon.Timestamp
}

// metric returns the output metric of name and type (tag), making it with
// setType on first use.
func (w *writer) metric(name, tag string, setType func(pmetric.Metric)) pmetric.Metric {
	key := name + "\x00" + tag
	if m, ok := w.byName[key]; ok {
		return m
	}
	m := w.out.AppendEmpty()
	m.SetName(name)
	setType(m)
	w.byName[key] = m
	return m
}

func (w *writer) attrs(dst pcommon.Map, src pcommon.Map) {
	src.CopyTo(dst)
	dst.PutStr(w.cfg.ReplicaAttribute, w.cfg.Replica)
}

// count writes a running total: a cumulative sum or histogram, which
// deltatocumulative further down leaves as it is.
func (w *writer) count(o *outSeries) {
	name := w.cfg.MetricPrefix + o.metric
	if o.kind.histogram {
		m := w.metric(name, "h", func(m pmetric.Metric) {
			m.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		})
		dp := m.Histogram().DataPoints().AppendEmpty()
		w.attrs(dp.Attributes(), o.attrs)
		dp.SetStartTimestamp(w.start)
		dp.SetTimestamp(w.now)
		dp.ExplicitBounds().FromRaw(slices.Clone(o.hist.bounds))
		dp.BucketCounts().FromRaw(slices.Clone(o.hist.counts))
		dp.SetCount(o.hist.count)
		dp.SetSum(o.hist.sum)
		return
	}
	m := w.metric(name, o.kind.tag(), func(m pmetric.Metric) {
		s := m.SetEmptySum()
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		s.SetIsMonotonic(o.kind.monotonic)
	})
	dp := m.Sum().DataPoints().AppendEmpty()
	w.attrs(dp.Attributes(), o.attrs)
	dp.SetStartTimestamp(w.start)
	dp.SetTimestamp(w.now)
	if o.double {
		dp.SetDoubleValue(o.f + float64(o.i))
	} else {
		dp.SetIntValue(o.i)
	}
}

// value writes how many instances hold a value now: a gauge.
func (w *writer) value(o *outSeries) {
	w.gauge(w.cfg.MetricPrefix+o.metric+".instances", o.attrs, o.holders)
}

func (w *writer) gauge(name string, attrs pcommon.Map, v int64) {
	m := w.metric(name, "g", func(m pmetric.Metric) { m.SetEmptyGauge() })
	dp := m.Gauge().DataPoints().AppendEmpty()
	w.attrs(dp.Attributes(), attrs)
	dp.SetTimestamp(w.now)
	dp.SetIntValue(v)
}

// ownPrefix starts the names of the processor's own figures (after
// metric_prefix); instances' metrics of such names are left out, so that
// none can pass for them.
const ownPrefix = "processor."

// own writes the processor's figures about itself: the instances within
// the window, points left out of the fleet series and why, and instances
// that came back after their window (the window is then too short).
func (w *writer) own(a *aggregator) {
	live := int64(0)
	for _, inst := range a.instances {
		if !inst.expired {
			live++
		}
	}
	none := pcommon.NewMap()
	own := w.cfg.MetricPrefix + ownPrefix
	w.gauge(own+"instances", none, live)
	w.gauge(own+"series", none, int64(a.series))
	w.gauge(own+"returned_after_window", none, a.returned)
	for _, reason := range []string{dropInstanceCap, dropSeriesCap, dropUnsupported, dropNotFinite, dropReserved} {
		attrs := pcommon.NewMap()
		attrs.PutStr("reason", reason)
		w.gauge(own+"dropped_points", attrs, a.dropped[reason])
	}
}
