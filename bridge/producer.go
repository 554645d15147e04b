package bridge

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// producer hands one reader the bridge's figures: the sums of counters
// and counting sets (see series), and the values held for Set, SetNested
// and Append, each change once: those numbered after the last change it
// reported. One producer serves one reader.
type producer struct {
	b *Bridge
	// number is the producer's place among the bridge's producers; the
	// telemetry reader's is 0. It picks the producer's sum in each series.
	number int
	// delta says that the producer reports counts as deltas since its
	// last report (the telemetry reader's, WithDeltaReader's), not as
	// cumulative sums.
	delta    bool
	made     time.Time  // the start of a cumulative reader's sums
	mu       sync.Mutex // one Produce at a time
	reported position   // how far it has reported (see intervals)
	// lastReport is when the producer last reported, the start of the
	// deltas it reports next; under the handover's mu.
	lastReport time.Time
}

// Producer returns a new producer of the bridge's figures for a reader of
// another MeterProvider (an SDK reader takes producers only when it is
// made, so a reader of the bridge's own provider gets one through
// WithReader or WithDeltaReader). It reports counts as cumulative sums of
// what was counted from the moment it is made. The bridge keeps a sum per
// producer in every series, for as long as it runs: make one per reader,
// not one per collection.
func (b *Bridge) Producer() sdkmetric.Producer { return b.newProducer(false) }

func (b *Bridge) newProducer(delta bool) *producer {
	now := time.Now()
	p := &producer{b: b, delta: delta, made: now, lastReport: now}
	p.reported.started(b.intervals.now())
	b.mu.Lock()
	defer b.mu.Unlock()
	p.number = len(b.producers)
	b.producers = append(b.producers, p)
	b.hand.join(p.number)
	return p
}

// Produce returns the counts its reader has not been told and the held
// values changed since its previous call. The telemetry reader's producer
// also ends the update interval.
func (p *producer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// During the telemetry reader's collection this moves nothing
	// (BeginCollection moved the counts); a reader without the hooks, or
	// any other reader, gets what was recorded until now.
	p.b.moveForReport()
	upto := p.b.intervals.lastChange()
	metrics, now := p.b.countMetrics(p, nil)
	metrics = append(metrics, p.b.heldMetrics(p.reported.change.Load(), upto, now)...)
	p.b.intervals.produced(&p.reported, upto)
	if p == p.b.primary {
		p.b.journal.MarkValues(p.b.hand.gen.Load(), upto)
	}
	if p == p.b.primary && !p.b.hand.checkpoint.Load() {
		if dropped := p.b.endInterval(); dropped > 0 {
			metrics = append(metrics, metricdata.Metrics{Name: payload.KeyDropped, Data: metricdata.Sum[int64]{
				Temporality: metricdata.DeltaTemporality, IsMonotonic: true,
				DataPoints: []metricdata.DataPoint[int64]{{Time: time.Now(), Value: dropped}},
			}})
		}
	}
	if len(metrics) == 0 {
		return nil, nil
	}
	return []metricdata.ScopeMetrics{{Scope: instrumentation.Scope{Name: ScopeName}, Metrics: metrics}}, nil
}

// heldMetrics builds the metrics of the held values numbered in (after, upto].
func (b *Bridge) heldMetrics(after, upto uint64, now time.Time) []metricdata.Metrics {
	var families heldFamilies
	in := func(h *held) bool { return h != nil && h.change > after && h.change <= upto }
	b.entries.each(func(e *entry) {
		if e.held == nil {
			return
		}
		e.held.mu.Lock()
		data, ok := e.held.data(e.kind, in, now)
		e.held.mu.Unlock()
		if ok {
			families.add(e.key, data)
		}
	})
	return families.sorted()
}

// data returns the gauge that carries the selected values; h.mu is held.
func (h *heldState) data(k kind, in func(*held) bool, now time.Time) (metricdata.Aggregation, bool) {
	if h.retired {
		return nil, false
	}
	switch k {
	case kindValue:
		v := h.value.Load()
		if !in(v) {
			return nil, false
		}
		return valueGauge(v.v, now), true
	case kindNested:
		return nestedGauge(h.nested, in, now)
	case kindList:
		return listGauge(h.list, in, now)
	}
	return nil, false
}

// valueGauge carries a number as the point's value, anything else as the
// value attribute of a point worth 1 (an "info" gauge).
func valueGauge(v any, now time.Time) metricdata.Aggregation {
	if n, ok := asInt64(v); ok {
		return metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Time: now, Value: n}}}
	}
	switch x := v.(type) {
	case float64:
		return metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{{Time: now, Value: x}}}
	}
	return metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{
		Attributes: attribute.NewSet(valueAttribute(v)), Time: now, Value: 1,
	}}}
}

// nestedGauge has one point per sub-key. When every value is a float the
// points are float64; otherwise they are int64, and values that are not
// int64 ride in the value attribute.
func nestedGauge(nested map[string]*nestedCell, in func(*held) bool, now time.Time) (metricdata.Aggregation, bool) {
	selected := map[string]*held{}
	allFloat := true
	for _, c := range nested {
		if h := &c.cur; in(h) {
			selected[c.subkey] = h
			_, isFloat := h.v.(float64)
			allFloat = allFloat && isFloat
		}
	}
	subkeys := make([]string, 0, len(selected))
	for s := range selected {
		subkeys = append(subkeys, s)
	}
	if len(subkeys) == 0 {
		return nil, false
	}
	slices.Sort(subkeys)
	if allFloat {
		pts := make([]metricdata.DataPoint[float64], len(subkeys))
		for i, s := range subkeys {
			pts[i] = metricdata.DataPoint[float64]{Attributes: attribute.NewSet(attribute.String(payload.AttrSubkey, s)), Time: now, Value: selected[s].v.(float64)}
		}
		return metricdata.Gauge[float64]{DataPoints: pts}, true
	}
	pts := make([]metricdata.DataPoint[int64], len(subkeys))
	for i, s := range subkeys {
		sub := attribute.String(payload.AttrSubkey, s)
		if n, ok := asInt64(selected[s].v); ok {
			pts[i] = metricdata.DataPoint[int64]{Attributes: attribute.NewSet(sub), Time: now, Value: n}
		} else {
			pts[i] = metricdata.DataPoint[int64]{Attributes: attribute.NewSet(sub, valueAttribute(selected[s].v)), Time: now, Value: 1}
		}
	}
	return metricdata.Gauge[int64]{DataPoints: pts}, true
}

// listGauge has one point per element, in call order, numbered from 0.
func listGauge(list []element, in func(*held) bool, now time.Time) (metricdata.Aggregation, bool) {
	var pts []metricdata.DataPoint[int64]
	for i := range list {
		if h := &list[i].held; in(h) {
			idx := attribute.Int(payload.AttrIndex, len(pts))
			pts = append(pts, metricdata.DataPoint[int64]{Attributes: attribute.NewSet(idx, valueAttribute(h.v)), Time: now, Value: 1})
		}
	}
	if len(pts) == 0 {
		return nil, false
	}
	return metricdata.Gauge[int64]{DataPoints: pts}, true
}

// endInterval starts a new update interval: the item count restarts, and
// what no reader needs any more is let go. It returns how many items the
// interval that ended dropped.
func (b *Bridge) endInterval() int64 {
	dropped := b.intervals.advance()
	if dropped > 0 {
		b.report(fmt.Errorf("the limit of %d items per update was reached: %d new items were dropped", MaxItems, dropped))
	}
	b.reported.Clear()
	b.nReported.Store(0)
	b.sweep()
	return dropped
}
