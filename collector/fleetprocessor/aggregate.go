package fleetprocessor

import (
	"hash/fnv"
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// aggregator holds a replica's fleet state. It is not safe for concurrent
// use: the processor locks around it.
type aggregator struct {
	cfg       *Config
	metrics   map[string]*recentInstances // who reported each metric name
	counts    map[string]*countSeries
	retired   map[string]*countSeries // folded totals of series gone quiet
	slots     map[string]*slot
	instances map[uint64]*instanceState
	series    int // counts, slots and values kept, against MaxSeries
	dropped   map[string]int64
	// expired counts the instances kept past their window.
	expired int
	// returned counts instances that came back after their window ended:
	// a sign that the window is shorter than their update interval.
	returned int64
	// last remembers the previous snapshot's series, to end those that
	// vanish with a zero.
	last lastOutputs
}

// Reasons for points that do not make it into the fleet series.
const (
	dropInstanceCap = "instance_cap"
	dropSeriesCap   = "series_cap" // counted in "other" all the same
	dropUnsupported = "unsupported_type"
	dropNotFinite   = "not_finite"
	dropReserved    = "reserved_name"
)

// maxKeyBytes bounds the attributes of a series kept one by one: a longer
// set (a megabyte of user agent) goes into "other" at once, as a value
// that long is all but certainly one instance's own.
const maxKeyBytes = 4096

func newAggregator(cfg *Config) *aggregator {
	return &aggregator{
		cfg:       cfg,
		metrics:   map[string]*recentInstances{},
		counts:    map[string]*countSeries{},
		retired:   map[string]*countSeries{},
		slots:     map[string]*slot{},
		instances: map[uint64]*instanceState{},
		dropped:   map[string]int64{},
	}
}

// instanceHash is the same on every replica, so that the sample and the
// privacy threshold see an instance alike wherever it reports.
func instanceHash(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return h.Sum64()
}

// sampled reports whether the instance is in the pass-through sample.
func (a *aggregator) sampled(hash uint64) bool {
	const scale = 1 << 20
	return float64(hash%scale) < a.cfg.SampleRate*scale
}

// add takes in one instance's metrics at now (unix nanoseconds).
func (a *aggregator) add(id uint64, sms pmetric.ScopeMetricsSlice, now int64) {
	inst := a.instance(id, now)
	for _, sm := range sms.All() {
		for _, m := range sm.Metrics().All() {
			a.addMetric(id, inst, m, now)
		}
	}
}

// instance returns the state of instance id, nil when the cap is reached.
func (a *aggregator) instance(id uint64, now int64) *instanceState {
	inst, ok := a.instances[id]
	if !ok && len(a.instances) >= a.cfg.MaxInstances && a.expired > 0 {
		a.forgetExpired() // room for a live instance before remembering dead ones
	}
	switch {
	case ok && inst.expired:
		a.returned++
		a.expired--
		inst.expired = false
	case !ok && len(a.instances) >= a.cfg.MaxInstances:
		return nil
	case !ok:
		inst = &instanceState{}
		a.instances[id] = inst
	}
	inst.seen = now
	return inst
}

func (a *aggregator) addMetric(id uint64, inst *instanceState, m pmetric.Metric, now int64) {
	if strings.HasPrefix(m.Name(), ownPrefix) {
		a.dropped[dropReserved]++ // the processor's own figures are named so
		return
	}
	r := a.metrics[m.Name()]
	if r == nil {
		if len(a.metrics) >= a.cfg.MaxSeries {
			a.dropped[dropSeriesCap]++
			return
		}
		r = &recentInstances{}
		a.metrics[m.Name()] = r
	}
	r.note(id, now, a.cfg.MinInstances)
	switch m.Type() {
	case pmetric.MetricTypeSum:
		s := m.Sum()
		if s.AggregationTemporality() != pmetric.AggregationTemporalityDelta {
			a.dropped[dropUnsupported] += int64(s.DataPoints().Len())
			return
		}
		kind := countKind{monotonic: s.IsMonotonic()}
		for _, dp := range s.DataPoints().All() {
			if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble && !finite(dp.DoubleValue()) {
				a.dropped[dropNotFinite]++
				continue
			}
			if c := a.countSeries(m.Name(), kind, dp.Attributes()); c != nil {
				c.addNumber(dp)
				c.recent.note(id, now, a.cfg.MinInstances)
			}
		}
	case pmetric.MetricTypeHistogram:
		h := m.Histogram()
		if h.AggregationTemporality() != pmetric.AggregationTemporalityDelta {
			a.dropped[dropUnsupported] += int64(h.DataPoints().Len())
			return
		}
		for _, dp := range h.DataPoints().All() {
			if !finite(dp.Sum()) {
				a.dropped[dropNotFinite]++
				continue
			}
			kind := countKind{histogram: true, bounds: boundsText(dp.ExplicitBounds())}
			if c := a.countSeries(m.Name(), kind, dp.Attributes()); c != nil {
				c.addHistogram(dp)
				c.recent.note(id, now, a.cfg.MinInstances)
			}
		}
	case pmetric.MetricTypeGauge:
		for _, dp := range m.Gauge().DataPoints().All() {
			a.addGaugePoint(inst, m.Name(), dp)
		}
	default: // exponential histograms and summaries: only the sample has them
		a.dropped[dropUnsupported]++
	}
}

// countSeries returns the series of a count, making it while the cap
// allows; past the cap the count goes straight into its "other" series,
// so that totals stay whole.
func (a *aggregator) countSeries(metric string, kind countKind, attrs pcommon.Map) *countSeries {
	key := seriesKey(metric, kind.tag(), attrs, nil)
	if c, ok := a.counts[key]; ok {
		return c
	}
	fold, foldAttrs := foldOf(metric, kind.tag(), attrs, nil)
	if a.series >= a.cfg.MaxSeries || len(key) > maxKeyBytes {
		a.dropped[dropSeriesCap]++ // counted in "other" all the same
		return a.retiredSeries(metric, kind, fold, foldAttrs)
	}
	c := &countSeries{metric: metric, kind: kind, attrs: pcommon.NewMap(), fold: fold}
	attrs.CopyTo(c.attrs)
	a.counts[key] = c
	a.series++
	return c
}

// retiredSeries returns the "other" total that keeps the counts of series
// no longer kept one by one.
func (a *aggregator) retiredSeries(metric string, kind countKind, fold string, attrs pcommon.Map) *countSeries {
	r, ok := a.retired[fold]
	if !ok && len(a.retired) >= a.cfg.MaxSeries {
		// Attribute names that never repeat: one total per metric and kind.
		attrs = pcommon.NewMap()
		fold = seriesKey(metric, kind.tag(), attrs, nil)
		r, ok = a.retired[fold]
	}
	if !ok {
		r = &countSeries{metric: metric, kind: kind, attrs: attrs, fold: fold}
		a.retired[fold] = r
	}
	return r
}

// addGaugePoint records an instance's value (a point with telemetry.value)
// or reading (any other number) of a gauge.
func (a *aggregator) addGaugePoint(inst *instanceState, metric string, dp pmetric.NumberDataPoint) {
	if inst == nil {
		a.dropped[dropInstanceCap]++
		return
	}
	attrs := dp.Attributes()
	_, isValue := attrs.Get(attrValue)
	if _, ok := attrs.Get(attrValueJSON); ok {
		isValue = true
	}
	kind := "r"
	if isValue {
		kind = "v"
	}
	s := a.slot(metric, kind, attrs)
	if !isValue {
		v := dp.DoubleValue()
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			v = float64(dp.IntValue())
		}
		if !finite(v) {
			a.dropped[dropNotFinite]++
			return
		}
		inst.setReading(s, v)
		return
	}
	inst.hold(s, a.valueSeries(s, attrs))
}

// slot returns the slot of a gauge point; past the cap, its metric's
// overflow slot (no attributes but the value's, which counts as "other"),
// so that instances still count, if not by sub-key.
func (a *aggregator) slot(metric, kind string, attrs pcommon.Map) *slot {
	key := seriesKey(metric, kind, attrs, isValueAttr)
	if s, ok := a.slots[key]; ok {
		return s
	}
	if a.series >= a.cfg.MaxSeries || len(key) > maxKeyBytes {
		a.dropped[dropSeriesCap]++
		attrs = pcommon.NewMap()
		key = seriesKey(metric, kind, attrs, nil)
		if s, ok := a.slots[key]; ok {
			return s
		}
	}
	s := &slot{key: key, metric: metric, reading: kind == "r", attrs: pcommon.NewMap(), values: map[string]*valueSeries{}}
	for k, v := range attrs.All() {
		if !isValueAttr(k) {
			v.CopyTo(s.attrs.PutEmpty(k))
		}
	}
	s.overflow = &valueSeries{attrs: pcommon.NewMap()}
	s.overflow.attrs.PutStr(attrValue, otherValue)
	a.slots[key] = s
	a.series++
	return s
}

// valueSeries returns the slot's series for the value in attrs; past the
// cap, the slot's overflow, which counts as "other".
func (a *aggregator) valueSeries(s *slot, attrs pcommon.Map) *valueSeries {
	key := seriesKey("", "", attrs, func(k string) bool { return !isValueAttr(k) })
	if v, ok := s.values[key]; ok {
		return v
	}
	if a.series >= a.cfg.MaxSeries || len(key) > maxKeyBytes {
		a.dropped[dropSeriesCap]++
		return s.overflow
	}
	v := &valueSeries{key: key, attrs: pcommon.NewMap()}
	for k, val := range attrs.All() {
		if isValueAttr(k) {
			val.CopyTo(v.attrs.PutEmpty(k))
		}
	}
	s.values[key] = v
	a.series++
	return v
}

// hold makes v the instance's value of slot s.
func (inst *instanceState) hold(s *slot, v *valueSeries) {
	for i := range inst.held {
		if h := &inst.held[i]; h.slot == s {
			h.value.holders--
			v.holders++
			h.value = v
			return
		}
	}
	inst.held = append(inst.held, heldValue{s, v})
	s.holders++
	v.holders++
}

// setReading makes v the instance's reading of slot s.
func (inst *instanceState) setReading(s *slot, v float64) {
	for i := range inst.readings {
		if inst.readings[i].slot == s {
			inst.readings[i].value = v
			return
		}
	}
	inst.readings = append(inst.readings, reading{s, v})
	s.holders++
}

// release lets go of the instance's values and readings.
func (inst *instanceState) release() {
	for _, h := range inst.held {
		h.value.holders--
		h.slot.holders--
	}
	for _, r := range inst.readings {
		r.slot.holders--
	}
	inst.held, inst.readings = nil, nil
}

// sweep ends the window of instances that have not reported within it,
// retires count series no instance reported within it, and forgets slots
// and values nobody holds. An expired instance is remembered for one more
// window, only to notice it coming back.
func (a *aggregator) sweep(now int64) {
	since := now - int64(a.cfg.Window)
	for id, inst := range a.instances {
		switch {
		case inst.seen < since-int64(a.cfg.Window):
			if inst.expired {
				a.expired--
			}
			inst.release() // a no-op unless a sweep was missed
			delete(a.instances, id)
		case inst.seen < since && !inst.expired:
			inst.release()
			inst.expired = true
			a.expired++
		}
	}
	for key, c := range a.counts {
		if c.recent.newest() < since {
			a.retiredSeries(c.metric, c.kind, c.fold, foldAttrsOf(c)).merge(&c.total)
			delete(a.counts, key)
			a.series--
		}
	}
	for key, s := range a.slots {
		for vk, v := range s.values {
			if v.holders == 0 {
				delete(s.values, vk)
				a.series--
			}
		}
		if s.holders == 0 {
			a.series -= len(s.values) + 1
			delete(a.slots, key)
		}
	}
	for name, r := range a.metrics {
		if r.newest() < since {
			delete(a.metrics, name)
		}
	}
}

func foldAttrsOf(c *countSeries) pcommon.Map {
	_, attrs := foldOf(c.metric, c.kind.tag(), c.attrs, nil)
	return attrs
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// forgetExpired lets go of every instance past its window.
func (a *aggregator) forgetExpired() {
	for id, inst := range a.instances {
		if inst.expired {
			delete(a.instances, id)
		}
	}
	a.expired = 0
}
