package exporter

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// roles is what the protocol attributes of one data point say.
type roles struct {
	value    leaf
	hasValue bool
	subkey   string
	hasSub   bool
	index    int64
	hasIndex bool
	other    bool // an attribute outside the protocol set
}

func rolesOf(set attribute.Set) roles {
	var r roles
	for it := set.Iter(); it.Next(); {
		kv := it.Attribute()
		switch {
		case kv.Key == payload.AttrValue:
			r.value, r.hasValue = leaf{attr: kv.Value}, true
		case kv.Key == payload.AttrValueJSON && kv.Value.Type() == attribute.STRING:
			r.value, r.hasValue = leaf{json: kv.Value.AsString(), isJSON: true}, true
		case kv.Key == payload.AttrSubkey && kv.Value.Type() == attribute.STRING:
			r.subkey, r.hasSub = kv.Value.AsString(), true
		case kv.Key == payload.AttrIndex && kv.Value.Type() == attribute.INT64:
			r.index, r.hasIndex = kv.Value.AsInt64(), true
		default:
			r.other = true
		}
	}
	return r
}

func (r roles) onlyValue() bool { return r.hasValue && !r.hasSub && !r.hasIndex && !r.other }

// converter turns metric data into values. Its writer is reused for the
// JSON that values keep (attributes, counting-set values).
type converter struct{ w payload.Writer }

// shape returns the value of one metric's data; nil when the metric holds
// no points, so that nothing is sent for it.
func (c *converter) shape(agg metricdata.Aggregation) (value, error) {
	switch d := agg.(type) {
	case metricdata.Sum[int64]:
		return c.intSum(d.DataPoints)
	case metricdata.Sum[float64]:
		return pointShape(c, d.DataPoints, false)
	case metricdata.Gauge[int64]:
		return pointShape(c, d.DataPoints, true)
	case metricdata.Gauge[float64]:
		return pointShape(c, d.DataPoints, true)
	case metricdata.Histogram[int64]:
		return histogramShape(c, d.DataPoints)
	case metricdata.Histogram[float64]:
		return histogramShape(c, d.DataPoints)
	case metricdata.ExponentialHistogram[int64]:
		return expHistogramShape(c, d.DataPoints)
	case metricdata.ExponentialHistogram[float64]:
		return expHistogramShape(c, d.DataPoints)
	case metricdata.Summary:
		return summaryShape(c, d.DataPoints)
	}
	return nil, fmt.Errorf("unsupported metric data type %T", agg)
}

// intSum makes a counting set of an integer sum whose points each carry
// just a value attribute; any other integer sum takes the point shapes.
func (c *converter) intSum(pts []metricdata.DataPoint[int64]) (value, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	for _, p := range pts {
		if !rolesOf(p.Attributes).onlyValue() {
			return pointShape(c, pts, false)
		}
	}
	set := &countingSet{members: make([]counted, 0, len(pts))}
	for _, p := range pts {
		start := len(set.arena)
		c.w.Reset(set.arena)
		if err := rolesOf(p.Attributes).value.write(&c.w); err != nil {
			return nil, err
		}
		set.arena = c.w.Bytes()
		set.add(start, p.Value)
	}
	set.settle()
	return set, nil
}

// pointShape maps sum and gauge points:
//   - one point without attributes: the number itself;
//   - gauge, one point with only a value attribute: that value;
//   - every point with only a sub-key (and, on gauges, a value): an object;
//   - gauge, every point with only an index and a value: a list;
//   - anything else: the generic list of {"attributes", "value"} points.
func pointShape[N int64 | float64](c *converter, pts []metricdata.DataPoint[N], gauge bool) (value, error) {
	switch {
	case len(pts) == 0:
		return nil, nil
	case len(pts) == 1 && pts[0].Attributes.Len() == 0:
		return number(numberOf(pts[0].Value)), nil
	}
	all := make([]roles, len(pts))
	for i, p := range pts {
		all[i] = rolesOf(p.Attributes)
	}
	if gauge && len(pts) == 1 && all[0].onlyValue() {
		return all[0].value, nil
	}
	if obj, ok := nestedObject(pts, all, gauge); ok {
		return obj, nil
	}
	if gauge {
		if l, ok := indexedList(all); ok {
			return l, nil
		}
	}
	return genericPoints(c, pts)
}

func numberOf[N int64 | float64](v N) payload.Number {
	switch x := any(v).(type) {
	case int64:
		return payload.IntNumber(x)
	case float64:
		return payload.FloatNumber(x)
	}
	return payload.Number{}
}

func nestedObject[N int64 | float64](pts []metricdata.DataPoint[N], all []roles, gauge bool) (object, bool) {
	obj := make(object, len(pts))
	for i, r := range all {
		if !r.hasSub || r.hasIndex || r.other || (r.hasValue && !gauge) {
			return nil, false
		}
		obj[i] = member{name: r.subkey, value: number(numberOf(pts[i].Value))}
		if r.hasValue {
			obj[i].value = r.value
		}
	}
	// Sub-keys are unique in the data the SDK makes; should one repeat,
	// the last point wins, as a map would have it.
	slices.SortStableFunc(obj, func(a, b member) int { return cmp.Compare(a.name, b.name) })
	for i := len(obj) - 1; i > 0; i-- {
		if obj[i-1].name == obj[i].name {
			obj = slices.Delete(obj, i-1, i)
		}
	}
	return obj, true
}

func indexedList(all []roles) (list, bool) {
	for _, r := range all {
		if !r.hasIndex || !r.hasValue || r.hasSub || r.other {
			return nil, false
		}
	}
	sorted := slices.Clone(all)
	slices.SortStableFunc(sorted, func(a, b roles) int { return cmp.Compare(a.index, b.index) })
	l := make(list, len(sorted))
	for i, r := range sorted {
		l[i] = r.value
	}
	return l, true
}

func genericPoints[N int64 | float64](c *converter, pts []metricdata.DataPoint[N]) (value, error) {
	s := &sumPoints{attributed[payload.Number]{points: make([]withAttrs[payload.Number], 0, len(pts))}}
	for _, p := range pts {
		if err := s.add(&c.w, p.Attributes, numberOf(p.Value)); err != nil {
			return nil, err
		}
	}
	s.sort()
	return s, nil
}

func histogramShape[N int64 | float64](c *converter, pts []metricdata.HistogramDataPoint[N]) (value, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	h := &histograms{attributed[payload.Histogram]{points: make([]withAttrs[payload.Histogram], 0, len(pts))}}
	for _, p := range pts {
		lo, hasLo := p.Min.Value()
		hi, hasHi := p.Max.Value()
		err := h.add(&c.w, p.Attributes, payload.Histogram{
			Count: p.Count, Sum: numberOf(p.Sum),
			Min: numberOf(lo), HasMin: hasLo, Max: numberOf(hi), HasMax: hasHi,
			Bounds: p.Bounds, BucketCounts: p.BucketCounts,
		})
		if err != nil {
			return nil, err
		}
	}
	h.sort()
	return h, nil
}

func expHistogramShape[N int64 | float64](c *converter, pts []metricdata.ExponentialHistogramDataPoint[N]) (value, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	h := &expHistograms{attributed[payload.ExpHistogram]{points: make([]withAttrs[payload.ExpHistogram], 0, len(pts))}}
	for _, p := range pts {
		lo, hasLo := p.Min.Value()
		hi, hasHi := p.Max.Value()
		err := h.add(&c.w, p.Attributes, payload.ExpHistogram{
			Count: p.Count, Sum: numberOf(p.Sum),
			Min: numberOf(lo), HasMin: hasLo, Max: numberOf(hi), HasMax: hasHi,
			Scale: p.Scale, ZeroCount: p.ZeroCount, ZeroThreshold: p.ZeroThreshold,
			Positive: payload.ExpBuckets{Offset: p.PositiveBucket.Offset, Counts: p.PositiveBucket.Counts},
			Negative: payload.ExpBuckets{Offset: p.NegativeBucket.Offset, Counts: p.NegativeBucket.Counts},
		})
		if err != nil {
			return nil, err
		}
	}
	h.sort()
	return h, nil
}

func summaryShape(c *converter, pts []metricdata.SummaryDataPoint) (value, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	s := &summaries{attributed[payload.Summary]{points: make([]withAttrs[payload.Summary], 0, len(pts))}}
	for _, p := range pts {
		qs := make([]payload.Quantile, len(p.QuantileValues))
		for i, q := range p.QuantileValues {
			qs[i] = payload.Quantile{Quantile: q.Quantile, Value: q.Value}
		}
		if err := s.add(&c.w, p.Attributes, payload.Summary{Count: p.Count, Sum: p.Sum, Quantiles: qs}); err != nil {
			return nil, err
		}
	}
	s.sort()
	return s, nil
}

// writeAttrs writes an attribute set as a JSON object. The set is sorted
// by key, as encoding/json sorts the keys of a map.
func writeAttrs(w *payload.Writer, set attribute.Set) error {
	w.BeginObject()
	for it := set.Iter(); it.Next(); {
		kv := it.Attribute()
		w.Name(string(kv.Key))
		if err := writeAttrValue(w, kv.Value); err != nil {
			return err
		}
	}
	w.EndObject()
	return nil
}

// writeAttrValue writes an attribute value as its natural JSON.
func writeAttrValue(w *payload.Writer, v attribute.Value) error {
	switch v.Type() {
	case attribute.STRING:
		w.String(v.AsString())
	case attribute.INT64:
		w.Int(v.AsInt64())
	case attribute.BOOL:
		w.Bool(v.AsBool())
	case attribute.FLOAT64:
		return w.Float(v.AsFloat64())
	case attribute.STRINGSLICE:
		writeList(w, v.AsStringSlice(), w.String)
	case attribute.INT64SLICE:
		writeList(w, v.AsInt64Slice(), w.Int)
	case attribute.BOOLSLICE:
		writeList(w, v.AsBoolSlice(), w.Bool)
	case attribute.FLOAT64SLICE:
		w.BeginList()
		for _, f := range v.AsFloat64Slice() {
			if err := w.Float(f); err != nil {
				return err
			}
		}
		w.EndList()
	case attribute.EMPTY:
		w.Null()
	default:
		// Bytes, nested slices and maps are rare in metric attributes;
		// they keep the JSON encoding/json gives them.
		b, err := json.Marshal(v.AsInterface())
		if err != nil {
			return err
		}
		w.Encoded(b)
	}
	return nil
}

func writeList[T any](w *payload.Writer, items []T, write func(T)) {
	w.BeginList()
	for _, it := range items {
		write(it)
	}
	w.EndList()
}
