package telemetryreceiver

import (
	"encoding/json" // json.Number only, the type payload's decoder gives numbers
	"strings"

	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// attr is one attribute of a point; value is what JSON decoding gave
// (string, bool, json.Number, nil, []any, map[string]any).
type attr struct {
	key   string
	value any
}

// pointSet writes the points of one key.
type pointSet struct {
	c      *converter
	key    string // as the update has it, where valueTexts finds it
	name   string
	stated string // the type the update states for the key, if any
	base   []attr // the key's own attributes: its family suffix
}

// The type names the exporter may state for a key (payload.MetricType*).
var statedKinds = map[string]struct {
	kind   kind
	double bool
}{
	payload.MetricTypeCounter:             {kindMonotonicSum, false},
	payload.MetricTypeUpDownCounter:       {kindSum, false},
	payload.MetricTypeGauge:               {kindGauge, false},
	payload.MetricTypeDoubleCounter:       {kindMonotonicSum, true},
	payload.MetricTypeDoubleUpDownCounter: {kindSum, true},
	payload.MetricTypeDoubleGauge:         {kindGauge, true},
}

// kindOr returns the kind stated for the key, else fallback; double says
// whether numbers are to be floating point even when whole.
func (p pointSet) kindOr(fallback kind) (k kind, double bool) {
	if h, ok := statedKinds[p.stated]; ok {
		return h.kind, h.double
	}
	return fallback, false
}

// point appends a number point of kind k with the key's attributes and
// extra.
func (p pointSet) point(k kind, extra ...attr) pmetric.NumberDataPoint {
	dp := p.c.numberPoints(p.name, k).AppendEmpty()
	dp.SetTimestamp(p.c.ts)
	putAttrs(dp.Attributes(), p.base, extra)
	return dp
}

// number is a bare number: the sum of Add and Increment when whole, a
// gauge reading otherwise; the emit-time goroutines figure is a gauge.
func (p pointSet) number(n json.Number, key string) {
	fallback := kindSum
	if _, err := n.Int64(); err != nil || key == payload.KeyGoroutines {
		fallback = kindGauge
	}
	k, double := p.kindOr(fallback)
	setNumber(p.point(k), n, double)
}

// info is a value that is not a number: a gauge point of 1 that carries
// the value as an attribute, the info-metric convention. text finds the
// value's JSON text in the body, for an object or a list.
func (p pointSet) info(v any, text textFinder, extra ...attr) {
	p.point(kindGauge, append(extra, valueAttr(v, text))...).SetIntValue(1)
}

// object is SetNested's shape: a point per sub-key, numbers as gauge
// readings (or the stated type), other values as info points.
func (p pointSet) object(obj map[string]any) {
	k, double := p.kindOr(kindGauge)
	for _, sub := range sortedKeys(obj) {
		subkey := attr{attrSubkey, sub}
		if n, ok := obj[sub].(json.Number); ok {
			setNumber(p.point(k, subkey), n, double)
		} else {
			p.info(obj[sub], func() (string, bool) { return p.c.texts.member(p.key, sub) }, subkey)
		}
	}
}

// list is one of Append's list, a counting set, or the exporter's list of
// attributed points, native or not.
func (p pointSet) list(items []any) {
	switch {
	case len(items) == 0:
	case all(items, isCountedValue):
		k, _ := p.kindOr(kindMonotonicSum)
		for i, it := range items {
			m := it.(map[string]any)
			count, _ := m["count"].(json.Number).Int64()
			text := func() (string, bool) { return p.c.texts.countedValue(p.key, i) }
			p.point(k, valueAttr(m["value"], text)).SetIntValue(count)
		}
	case all(items, isAttributedNumber):
		k, double := p.kindOr(kindGauge)
		for _, it := range items {
			m := it.(map[string]any)
			setNumber(p.point(k, pointAttrs(m)...), m["value"].(json.Number), double)
		}
	case p.nativeList(items):
	default:
		for i, it := range items {
			p.info(it, func() (string, bool) { return p.c.texts.element(p.key, i) }, attr{attrIndex, int64(i)})
		}
	}
}

func all[T any](items []T, pred func(T) bool) bool {
	for _, it := range items {
		if !pred(it) {
			return false
		}
	}
	return true
}

// isCountedValue matches a counting-set member: {"value": v, "count": n}.
func isCountedValue(it any) bool {
	m, ok := it.(map[string]any)
	if !ok || len(m) != 2 {
		return false
	}
	n, ok := m["count"].(json.Number)
	_, hasValue := m["value"]
	_, err := n.Int64()
	return ok && hasValue && err == nil
}

// isAttributedNumber matches the exporter's point of a sum or gauge with
// attributes: {"attributes": {...}, "value": n}.
func isAttributedNumber(it any) bool {
	m, ok := it.(map[string]any)
	if !ok {
		return false
	}
	if _, ok := m["value"].(json.Number); !ok {
		return false
	}
	_, attrsOK := m["attributes"].(map[string]any)
	return len(m) == 1 || len(m) == 2 && attrsOK
}

// pointAttrs returns the members of an exporter point's "attributes".
func pointAttrs(m map[string]any) []attr {
	attrs, _ := m["attributes"].(map[string]any)
	out := make([]attr, 0, len(attrs))
	for _, k := range sortedKeys(attrs) {
		out = append(out, attr{strings.Clone(k), attrs[k]}) // see setValue
	}
	return out
}

// textFinder finds the JSON text of a value in the body of the update.
type textFinder func() (text string, found bool)

// noText is the textFinder of a value that is never an object or a list.
func noText() (string, bool) { return "", false }

// valueAttr carries a recorded value: scalars as they are, anything else
// as its JSON text (see valueTexts), which is how the exporter takes such
// values in.
func valueAttr(v any, text textFinder) attr {
	switch v.(type) {
	case string, bool, json.Number:
		return attr{attrValue, v}
	case nil:
		return attr{attrValueJSON, "null"}
	}
	raw, found := text()
	return attr{attrValueJSON, valueJSON(v, raw, found)}
}

func putAttrs(m pcommon.Map, lists ...[]attr) {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	m.EnsureCapacity(n)
	for _, l := range lists {
		for _, a := range l {
			setValue(m.PutEmpty(a.key), a.value)
		}
	}
}

// setValue stores a decoded JSON value in a pcommon.Value. The decoder's
// strings are slices of one copy of the body, and pdata keeps the strings
// it is given: processors keep attributes for hours (deltatocumulative
// keeps a stream's identity), so one kept value would pin its whole body
// where no memory_limiter sees it. Every string that outlives the
// request is copied once, here, in metric names and in attribute names.
func setValue(dst pcommon.Value, v any) {
	switch x := v.(type) {
	case string:
		dst.SetStr(strings.Clone(x))
	case bool:
		dst.SetBool(x)
	case int64:
		dst.SetInt(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			dst.SetInt(i)
		} else if f, err := x.Float64(); err == nil {
			dst.SetDouble(f)
		} else {
			dst.SetStr(strings.Clone(x.String()))
		}
	case []any:
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(x))
		for _, e := range x {
			setValue(s.AppendEmpty(), e)
		}
	case map[string]any:
		m := dst.SetEmptyMap()
		for _, k := range sortedKeys(x) {
			setValue(m.PutEmpty(strings.Clone(k)), x[k])
		}
	}
	// nil leaves the value empty
}

// setNumber sets a point's value: whole numbers as integers unless double
// is asked for, others (and integers beyond 64 bits) as floating point.
func setNumber(dp pmetric.NumberDataPoint, n json.Number, double bool) {
	if !double {
		if i, err := n.Int64(); err == nil {
			dp.SetIntValue(i)
			return
		}
	}
	f, _ := n.Float64()
	dp.SetDoubleValue(f)
}
