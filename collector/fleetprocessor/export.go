package fleetprocessor

import (
	"maps"
	"slices"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// ScopeName is the instrumentation scope of the fleet series.
const ScopeName = "github.com/telemetrybridge/telemetry/collector/fleetprocessor"

// outSeries is one point of the snapshot, before it becomes pdata.
type outSeries struct {
	metric string
	kind   countKind
	attrs  pcommon.Map
	total
	holders int64
}

// snapshot writes the fleet series as they stand at now into a new
// Metrics: cumulative since start, each point labelled with the replica.
func (a *aggregator) snapshot(start, now int64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(ScopeName)
	w := writer{cfg: a.cfg, out: sm.Metrics(), byName: map[string]pmetric.Metric{},
		start: pcommon.Timestamp(start), now: pcommon.Timestamp(now)}
	since := now - int64(a.cfg.Window)
	published := a.publishedMetrics(since)
	counts, values, readings := a.countOutputs(published, since), a.valueOutputs(published), a.readingOutputs(published)
	// A quiet metric's totals stand as last written: only series that
	// moved into "other" end with a zero.
	a.last.counts = endVanished(a.last.counts, counts, func(o *outSeries) bool { return published[o.metric] })
	all := func(*outSeries) bool { return true }
	a.last.values = endVanished(a.last.values, values, all)
	a.last.readings = endVanished(a.last.readings, readings, all)
	for _, o := range sorted(counts) {
		w.count(o)
	}
	for _, o := range sorted(values) {
		w.value(o)
	}
	for _, o := range sorted(readings) {
		w.count(o)
	}
	w.own(a)
	return md
}

// lastOutputs are the series of the previous snapshot, by key.
type lastOutputs struct {
	counts, values, readings map[string]*outSeries
}

// endVanished adds a zero point to now for every series of last that now
// lacks (a value nobody holds any more, a series folded into "other"), so
// that a query's lookback does not keep counting its last figure; and
// returns what now has, to be last next time.
func endVanished(last, now map[string]*outSeries, end func(*outSeries) bool) map[string]*outSeries {
	keep := make(map[string]*outSeries, len(now))
	for k, o := range now {
		keep[k] = &outSeries{metric: o.metric, kind: o.kind, attrs: o.attrs, total: total{hist: o.hist}}
	}
	for k, o := range last {
		if _, ok := now[k]; !ok && end(o) {
			zero := *o
			if o.kind.histogram {
				zero.hist = &histTotal{bounds: o.hist.bounds, counts: make([]uint64, len(o.hist.counts))}
			}
			now[k] = &zero
		}
	}
	return keep
}

func sorted(m map[string]*outSeries) []*outSeries {
	out := make([]*outSeries, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// publishedMetrics are the metric names at least k instances reported
// within the window; the others are withheld whole, as a name can say as
// much as a value.
func (a *aggregator) publishedMetrics(since int64) map[string]bool {
	p := make(map[string]bool, len(a.metrics))
	for name, r := range a.metrics {
		p[name] = r.reachedBy(a.cfg.MinInstances, since)
	}
	return p
}

func into(m map[string]*outSeries, key, metric string, kind countKind, attrs pcommon.Map) *outSeries {
	o, ok := m[key]
	if !ok {
		o = &outSeries{metric: metric, kind: kind, attrs: attrs}
		m[key] = o
	}
	return o
}

func (a *aggregator) countOutputs(published map[string]bool, since int64) map[string]*outSeries {
	out := map[string]*outSeries{}
	for key, c := range a.counts {
		if !published[c.metric] {
			continue
		}
		if c.recent.reachedBy(a.cfg.MinInstances, since) {
			into(out, key, c.metric, c.kind, c.attrs).merge(&c.total)
		} else {
			into(out, c.fold, c.metric, c.kind, foldAttrsOf(c)).merge(&c.total)
		}
	}
	for key, r := range a.retired {
		if published[r.metric] {
			into(out, key, r.metric, r.kind, r.attrs).merge(&r.total)
		}
	}
	return out
}

// valueOutputs counts the instances holding each value: a value fewer than
// k hold counts as "other" within its slot, and a slot fewer than k hold
// folds whole into its metric's "other".
func (a *aggregator) valueOutputs(published map[string]bool) map[string]*outSeries {
	out := map[string]*outSeries{}
	k := a.cfg.MinInstances
	for _, s := range a.slots {
		if s.reading || s.holders == 0 || !published[s.metric] {
			continue
		}
		slotKey, slotAttrs := s.key, s.attrs
		if s.holders < k {
			slotKey, slotAttrs = foldOf(s.metric, "v", s.attrs, nil)
		}
		for _, v := range s.values {
			if v.holders >= k && s.holders >= k {
				into(out, slotKey+v.key, s.metric, countKind{}, withAttrs(slotAttrs, v.attrs)).holders += int64(v.holders)
			} else if v.holders > 0 {
				into(out, slotKey+"other", s.metric, countKind{}, withAttrs(slotAttrs, s.overflow.attrs)).holders += int64(v.holders)
			}
		}
		if s.overflow.holders > 0 {
			into(out, slotKey+"other", s.metric, countKind{}, withAttrs(slotAttrs, s.overflow.attrs)).holders += int64(s.overflow.holders)
		}
	}
	return out
}

func withAttrs(a, b pcommon.Map) pcommon.Map {
	m := pcommon.NewMap()
	a.CopyTo(m)
	for k, v := range b.All() {
		v.CopyTo(m.PutEmpty(k))
	}
	return m
}

// readingOutputs is the distribution of each slot's readings across the
// instances holding one; slots fewer than k hold fold into "other".
func (a *aggregator) readingOutputs(published map[string]bool) map[string]*outSeries {
	out := map[string]*outSeries{}
	kind := countKind{histogram: true}
	for _, inst := range a.instances {
		for _, r := range inst.readings {
			s := r.slot
			if !published[s.metric] {
				continue
			}
			key, attrs := s.key, s.attrs
			if s.holders < a.cfg.MinInstances {
				key, attrs = foldOf(s.metric, "r", s.attrs, nil)
			}
			o := into(out, key, s.metric, kind, attrs)
			if o.hist == nil {
				o.hist = &histTotal{bounds: a.cfg.Buckets, counts: make([]uint64, len(a.cfg.Buckets)+1)}
			}
			o.hist.counts[sort.SearchFloat64s(a.cfg.Buckets, r.value)]++
			o.hist.count++
			o.hist.sum += r.value
		}
	}
	return out
}
