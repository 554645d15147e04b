package exporter

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Attribute keys with which an instrument asks for one of the protocol's
// shapes instead of the generic list of points (see the payload package
// documentation for the full mapping). The bridge package records with them;
// any instrument may.
const (
	// AttrValue carries a recorded value: on a counter it makes the key a
	// counting set, on a gauge with value 1 it is the key's value itself.
	AttrValue = "telemetry.value"
	// AttrValueJSON is AttrValue for a value given as its JSON text.
	AttrValueJSON = "telemetry.value_json"
	// AttrSubkey makes the key an object with one member per sub-key.
	AttrSubkey = "telemetry.subkey"
	// AttrIndex makes the key a list, ordered by this integer attribute.
	AttrIndex = "telemetry.index"
	// AttrKey gives a point its own key, whatever the instrument's name:
	// one instrument can then carry many keys.
	AttrKey = "telemetry.key"
	// AttrKeySuffix gives a point the key "<instrument name>:<suffix>", so
	// that keys of one family ("tls_client_hello_ua:3fa2c1b0", ...) share
	// one instrument.
	AttrKeySuffix = "telemetry.key_suffix"
)

// rawJSON is a value recorded as JSON text. Being a string, it can key a
// payload.CountingSet.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// roles is what the protocol attributes of one data point say.
type roles struct {
	value    attribute.Value
	isJSON   bool // value holds JSON text (AttrValueJSON)
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
		case kv.Key == AttrValue:
			r.value, r.hasValue = kv.Value, true
		case kv.Key == AttrValueJSON && kv.Value.Type() == attribute.STRING:
			r.value, r.hasValue, r.isJSON = kv.Value, true, true
		case kv.Key == AttrSubkey && kv.Value.Type() == attribute.STRING:
			r.subkey, r.hasSub = kv.Value.AsString(), true
		case kv.Key == AttrIndex && kv.Value.Type() == attribute.INT64:
			r.index, r.hasIndex = kv.Value.AsInt64(), true
		default:
			r.other = true
		}
	}
	return r
}

// recorded returns the value a point carries, ready to encode.
func (r roles) recorded() any {
	if r.isJSON {
		return rawJSON(r.value.AsString())
	}
	return r.value.AsInterface()
}

// shape returns the JSON-encodable value for one metric's data. ok is false
// when the metric holds no points, so that nothing is sent for it.
func shape(agg metricdata.Aggregation) (v any, ok bool, err error) {
	switch d := agg.(type) {
	case metricdata.Sum[int64]:
		v, ok = sumShape(d.DataPoints)
	case metricdata.Sum[float64]:
		v, ok = pointShape(d.DataPoints, false)
	case metricdata.Gauge[int64]:
		v, ok = pointShape(d.DataPoints, true)
	case metricdata.Gauge[float64]:
		v, ok = pointShape(d.DataPoints, true)
	case metricdata.Histogram[int64]:
		v, ok = histogramShape(d.DataPoints)
	case metricdata.Histogram[float64]:
		v, ok = histogramShape(d.DataPoints)
	case metricdata.ExponentialHistogram[int64]:
		v, ok = expHistogramShape(d.DataPoints)
	case metricdata.ExponentialHistogram[float64]:
		v, ok = expHistogramShape(d.DataPoints)
	case metricdata.Summary:
		v, ok = summaryShape(d.DataPoints)
	default:
		return nil, false, fmt.Errorf("unsupported metric data type %T", agg)
	}
	return v, ok, nil
}

// sumShape makes a counting set of an integer sum whose points each carry
// just a value attribute; any other integer sum takes the point shapes.
func sumShape(pts []metricdata.DataPoint[int64]) (any, bool) {
	if len(pts) == 0 {
		return nil, false
	}
	for _, p := range pts {
		if r := rolesOf(p.Attributes); !onlyValue(r) {
			return pointShape(pts, false)
		}
	}
	return countingPoints(pts), true
}

// countingPoints are the points of a counting set: one per value, each
// with a value attribute. They encode as payload.CountingSet does, a list
// of {"value", "count"} sorted by the value's JSON, with values whose JSON
// is equal counted together.
type countingPoints []metricdata.DataPoint[int64]

func (c countingPoints) appendJSON(dst []byte) ([]byte, error) {
	// Encode every value once into one arena, then sort references to them.
	type member struct {
		start, end int
		count      int64
	}
	arena := make([]byte, 0, 16*len(c))
	members := make([]member, len(c))
	for i, p := range c {
		start := len(arena)
		var err error
		if v, ok := p.Attributes.Value(AttrValue); ok {
			arena, err = appendAttr(arena, v)
		} else {
			v, _ := p.Attributes.Value(AttrValueJSON)
			arena, err = appendRaw(arena, v.AsString())
		}
		if err != nil {
			return dst, err
		}
		members[i] = member{start, len(arena), p.Value}
	}
	value := func(m member) []byte { return arena[m.start:m.end] }
	slices.SortFunc(members, func(a, b member) int { return bytes.Compare(value(a), value(b)) })

	dst = append(dst, '[')
	for i := 0; i < len(members); {
		m := members[i]
		for i++; i < len(members) && bytes.Equal(value(members[i]), value(m)); i++ {
			m.count += members[i].count
		}
		if dst[len(dst)-1] != '[' {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"value":`...)
		dst = append(dst, value(m)...)
		dst = append(dst, `,"count":`...)
		dst = strconv.AppendInt(dst, m.count, 10)
		dst = append(dst, '}')
	}
	return append(dst, ']'), nil
}

func (c countingPoints) MarshalJSON() ([]byte, error) { return c.appendJSON(nil) }

// pointShape maps sum and gauge points:
//   - one point without attributes: the number itself;
//   - gauge, one point with only a value attribute: that value;
//   - every point with only a sub-key (and, on gauges, a value): an object;
//   - gauge, every point with only an index and a value: a list;
//   - anything else: the generic list of {"attributes", "value"} points.
func pointShape[N int64 | float64](pts []metricdata.DataPoint[N], gauge bool) (any, bool) {
	if len(pts) == 0 {
		return nil, false
	}
	if len(pts) == 1 && pts[0].Attributes.Len() == 0 {
		return pts[0].Value, true
	}
	all := make([]roles, len(pts))
	for i, p := range pts {
		all[i] = rolesOf(p.Attributes)
	}
	if gauge && len(pts) == 1 && onlyValue(all[0]) {
		return all[0].recorded(), true
	}
	if obj, ok := nestedObject(pts, all, gauge); ok {
		return obj, true
	}
	if gauge {
		if list, ok := indexedList(all); ok {
			return list, true
		}
	}
	return genericPoints(pts), true
}

func onlyValue(r roles) bool { return r.hasValue && !r.hasSub && !r.hasIndex && !r.other }

func nestedObject[N int64 | float64](pts []metricdata.DataPoint[N], all []roles, gauge bool) (map[string]any, bool) {
	obj := make(map[string]any, len(pts))
	for i, r := range all {
		if !r.hasSub || r.hasIndex || r.other || (r.hasValue && !gauge) {
			return nil, false
		}
		if r.hasValue {
			obj[r.subkey] = r.recorded()
		} else {
			obj[r.subkey] = pts[i].Value
		}
	}
	return obj, true
}

func indexedList(all []roles) ([]any, bool) {
	for _, r := range all {
		if !r.hasIndex || !r.hasValue || r.hasSub || r.other {
			return nil, false
		}
	}
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b roles) int { return cmp.Compare(a.index, b.index) })
	list := make([]any, len(sorted))
	for i, r := range sorted {
		list[i] = r.recorded()
	}
	return list, true
}

// attributesJSON renders a point's attributes as a JSON object's members.
func attributesJSON(set attribute.Set) map[string]any {
	if set.Len() == 0 {
		return nil
	}
	m := make(map[string]any, set.Len())
	for _, kv := range set.ToSlice() {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// sortByAttributes orders points by their attribute sets so that the same
// data always encodes the same way.
func sortByAttributes[P any](pts []P, attrs func(P) attribute.Set) []P {
	sorted := slices.Clone(pts)
	enc := attribute.DefaultEncoder()
	slices.SortFunc(sorted, func(a, b P) int {
		as, bs := attrs(a), attrs(b)
		return cmp.Compare(as.Encoded(enc), bs.Encoded(enc))
	})
	return sorted
}

type genericPoint struct {
	Attributes map[string]any `json:"attributes,omitempty"`
	Value      any            `json:"value"`
}

func genericPoints[N int64 | float64](pts []metricdata.DataPoint[N]) []genericPoint {
	sorted := sortByAttributes(pts, func(p metricdata.DataPoint[N]) attribute.Set { return p.Attributes })
	out := make([]genericPoint, len(sorted))
	for i, p := range sorted {
		out[i] = genericPoint{Attributes: attributesJSON(p.Attributes), Value: p.Value}
	}
	return out
}

// single returns the lone element of points when it has no attributes,
// which is then sent bare rather than as a one-element list.
func single[T any](points []T, attrs func(T) map[string]any) (any, bool) {
	if len(points) == 1 && attrs(points[0]) == nil {
		return points[0], true
	}
	return points, len(points) > 0
}
