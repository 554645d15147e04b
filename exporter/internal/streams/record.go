package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/internal/journal"
)

// streamDesc is what a stream's journal record says of the stream, as
// JSON in the record's member text: enough for a later process to make
// the point again and convert it as the update would have.
type streamDesc struct {
	Scope     string       `json:"scope"`
	Name      string       `json:"name"`
	Monotonic bool         `json:"monotonic"`
	Attrs     []streamAttr `json:"attrs"`
}

// streamAttr is one attribute, with its type, so that an int stays an int
// and a string that looks like a number stays a string.
type streamAttr struct {
	Key   string          `json:"k"`
	Type  string          `json:"t"`
	Value json.RawMessage `json:"v"`
}

// describeStream returns the record text of a stream; false when its
// attributes hold a type or a value that the text cannot give back
// exactly (the carried file then keeps the stream's points).
func describeStream(id instrumentID, monotonic bool, attrs attribute.Set) ([]byte, bool) {
	d := streamDesc{Scope: id.scope, Name: id.name, Monotonic: monotonic, Attrs: make([]streamAttr, 0, attrs.Len())}
	if !utf8.ValidString(id.scope) || !utf8.ValidString(id.name) {
		return nil, false
	}
	for it := attrs.Iter(); it.Next(); {
		kv := it.Attribute()
		v, ok := attrValueJSON(kv.Value)
		if !ok || !utf8.ValidString(string(kv.Key)) {
			return nil, false
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		d.Attrs = append(d.Attrs, streamAttr{Key: string(kv.Key), Type: kv.Value.Type().String(), Value: raw})
	}
	text, err := json.Marshal(d)
	return text, err == nil
}

// attrValueJSON returns an attribute's value as encoding/json would write
// it exactly; false for the types left to the carried file.
func attrValueJSON(v attribute.Value) (any, bool) {
	switch v.Type() {
	case attribute.BOOL:
		return v.AsBool(), true
	case attribute.INT64:
		return v.AsInt64(), true
	case attribute.FLOAT64:
		f := v.AsFloat64()
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	case attribute.STRING:
		return v.AsString(), utf8.ValidString(v.AsString())
	case attribute.BOOLSLICE:
		return v.AsBoolSlice(), true
	case attribute.INT64SLICE:
		return v.AsInt64Slice(), true
	case attribute.FLOAT64SLICE:
		fs := v.AsFloat64Slice()
		for _, f := range fs {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, false
			}
		}
		return fs, true
	case attribute.STRINGSLICE:
		ss := v.AsStringSlice()
		for _, s := range ss {
			if !utf8.ValidString(s) {
				return nil, false
			}
		}
		return ss, true
	}
	return nil, false
}

// attr makes an attribute of a record's text again.
func (a streamAttr) attr() (attribute.KeyValue, error) {
	k := attribute.Key(a.Key)
	var kv attribute.KeyValue
	var err error
	switch a.Type {
	case attribute.BOOL.String():
		kv, err = decodeAttr(a.Value, k.Bool)
	case attribute.INT64.String():
		kv, err = decodeAttr(a.Value, k.Int64)
	case attribute.FLOAT64.String():
		kv, err = decodeAttr(a.Value, k.Float64)
	case attribute.STRING.String():
		kv, err = decodeAttr(a.Value, k.String)
	case attribute.BOOLSLICE.String():
		kv, err = decodeAttr(a.Value, k.BoolSlice)
	case attribute.INT64SLICE.String():
		kv, err = decodeAttr(a.Value, k.Int64Slice)
	case attribute.FLOAT64SLICE.String():
		kv, err = decodeAttr(a.Value, k.Float64Slice)
	case attribute.STRINGSLICE.String():
		kv, err = decodeAttr(a.Value, k.StringSlice)
	default:
		return kv, fmt.Errorf("an attribute %q of unknown type %q", a.Key, a.Type)
	}
	if err != nil {
		return kv, fmt.Errorf("attribute %q: %w", a.Key, err)
	}
	return kv, nil
}

// errNotStream says that a record with the stream key does not describe
// a stream.
var errNotStream = errors.New("a native stream's record that does not describe one")

// Entries turns the figures of an orphaned journal's stream records
// into the entries the update would have carried: the points are made
// again, summed per instrument and attribute set, and converted as a
// collection is. (What conversion reports, two scopes naming one key, the
// update would have reported; the later is kept here as there.)
func Entries(figs []journal.Figure) ([]convert.Entry, error) {
	type points struct {
		monotonic bool
		pts       []metricdata.DataPoint[int64]
		at        map[attribute.Distinct]int
	}
	byInstrument := make(map[instrumentID]*points)
	var order []instrumentID
	for _, f := range figs {
		var d streamDesc
		if err := json.Unmarshal([]byte(f.Sub), &d); err != nil || d.Name == "" {
			return nil, fmt.Errorf("%w: %.200q", errNotStream, f.Sub)
		}
		kvs := make([]attribute.KeyValue, len(d.Attrs))
		for i, a := range d.Attrs {
			var err error
			if kvs[i], err = a.attr(); err != nil {
				return nil, fmt.Errorf("%w: %w", errNotStream, err)
			}
		}
		id := instrumentID{d.Scope, d.Name}
		p := byInstrument[id]
		if p == nil {
			p = &points{monotonic: d.Monotonic, at: make(map[attribute.Distinct]int)}
			byInstrument[id] = p
			order = append(order, id)
		}
		set := attribute.NewSet(kvs...)
		if i, ok := p.at[set.Equivalent()]; ok {
			p.pts[i].Value += f.Count
			continue
		}
		p.at[set.Equivalent()] = len(p.pts)
		p.pts = append(p.pts, metricdata.DataPoint[int64]{Attributes: set, Value: f.Count})
	}
	var rm metricdata.ResourceMetrics
	for _, id := range order {
		p := byInstrument[id]
		sum := metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: p.monotonic, DataPoints: p.pts}
		sm := metricdata.ScopeMetrics{Metrics: []metricdata.Metrics{{Name: id.name, Data: sum}}}
		sm.Scope.Name = id.scope
		rm.ScopeMetrics = append(rm.ScopeMetrics, sm)
	}
	entries, _ := convert.Convert(new(convert.Converter), &rm, convert.Options{})
	return entries, nil
}

// decodeAttr reads a record's value as a T and makes the attribute of it.
func decodeAttr[T any](value []byte, newAttr func(T) attribute.KeyValue) (attribute.KeyValue, error) {
	var v T
	err := json.Unmarshal(value, &v)
	return newAttr(v), err
}
