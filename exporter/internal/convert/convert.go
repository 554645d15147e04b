package convert

import (
	"cmp"
	"encoding/json"
	"errors"
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

func rolesOf(kvs []attribute.KeyValue) roles {
	var r roles
	for _, kv := range kvs {
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

// Converter turns metric data into values. Its writer is reused for the
// JSON that values keep (attributes, counting-set values).
type Converter struct {
	w payload.Writer
	// flat holds the attributes of every point of the metric at hand,
	// point i's from offsets[i] to offsets[i+1]. attribute.Set reaches each
	// attribute through reflection, so they are read once, here, rather
	// than once to pick the shape and again to write them.
	flat    []attribute.KeyValue
	offsets []int
	// arena holds the attributes' JSON of every point converted, reused
	// from update to update (see attributed.seal).
	arena []byte
	// names holds the quoted name of the attribute at each position, since
	// the points of one metric mostly have the same names in the same
	// places: quoting them once saves a fifth of the writing.
	names []quotedName
	// numbers is the block that number values come from.
	numbers []number
}

type quotedName struct {
	key    attribute.Key
	quoted []byte
}

// number returns a number value from the converter's current block.
// Blocks are not reused: values taken from them may be carried over.
func (c *Converter) number(n payload.Number) *number {
	if len(c.numbers) == cap(c.numbers) {
		c.numbers = make([]number, 0, 256)
	}
	c.numbers = append(c.numbers, number(n))
	return &c.numbers[len(c.numbers)-1]
}

// errCarriesKeys says that points of a metric name keys of their own
// (payload.AttrKey, payload.AttrKeySuffix): the metric is split by key.
var errCarriesKeys = errors.New("the points carry keys of their own")

// load reads the attributes of n points.
func (c *Converter) load(n int, setOf func(int) *attribute.Set) {
	c.flat, c.offsets = c.flat[:0], append(c.offsets[:0], 0)
	for i := range n {
		for it := setOf(i).Iter(); it.Next(); {
			c.flat = append(c.flat, it.Attribute())
		}
		c.offsets = append(c.offsets, len(c.flat))
	}
}

func (c *Converter) attrs(i int) []attribute.KeyValue { return c.flat[c.offsets[i]:c.offsets[i+1]] }

// sumOrGauge converts the points of a sum or gauge: those of an ordinary
// instrument in one pass (plainPoints); those that ask for a protocol
// shape are loaded and handed to shapeLoaded; those that name keys of
// their own come back as errCarriesKeys, to be split by key first.
func sumOrGauge[N int64 | float64](c *Converter, pts []metricdata.DataPoint[N], shapeLoaded func() (Value, error)) (Value, error) {
	if v, plain, err := plainPoints(c, pts); plain {
		return v, err
	}
	c.load(len(pts), func(i int) *attribute.Set { return &pts[i].Attributes })
	for _, kv := range c.flat {
		if isKeyAttr(kv.Key) {
			return nil, errCarriesKeys
		}
	}
	return shapeLoaded()
}

// shape returns the value of one metric's data; nil when the metric holds
// no points, so that nothing is sent for it.
func (c *Converter) shape(agg metricdata.Aggregation) (Value, error) {
	switch d := agg.(type) {
	case metricdata.Sum[int64]:
		return sumOrGauge(c, d.DataPoints, func() (Value, error) { return c.intSum(d.DataPoints) })
	case metricdata.Sum[float64]:
		return sumOrGauge(c, d.DataPoints, func() (Value, error) { return pointShape(c, d.DataPoints, false) })
	case metricdata.Gauge[int64]:
		return sumOrGauge(c, d.DataPoints, func() (Value, error) { return pointShape(c, d.DataPoints, true) })
	case metricdata.Gauge[float64]:
		return sumOrGauge(c, d.DataPoints, func() (Value, error) { return pointShape(c, d.DataPoints, true) })
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
// Like pointShape, it is given loaded points that ask for a protocol shape.
func (c *Converter) intSum(pts []metricdata.DataPoint[int64]) (Value, error) {
	for i := range pts {
		if !rolesOf(c.attrs(i)).onlyValue() {
			return pointShape(c, pts, false)
		}
	}
	set := &countingSet{arena: make([]byte, 0, 16*len(pts)), members: make([]counted, 0, len(pts))}
	for i, p := range pts {
		start := len(set.arena)
		c.w.Reset(set.arena)
		if err := rolesOf(c.attrs(i)).value.Write(&c.w); err != nil {
			return nil, err
		}
		set.arena = c.w.Bytes()
		set.add(start, p.Value)
	}
	set.settle()
	return set, nil
}

// pointShape maps loaded sum and gauge points of which some ask for a
// protocol shape (the others, and a lone number, took plainPoints):
//   - gauge, one point with only a value attribute: that value;
//   - every point with only a sub-key (and, on gauges, a value): an object;
//   - gauge, every point with only an index and a value: a list;
//   - anything else: the generic list of {"attributes", "value"} points.
func pointShape[N int64 | float64](c *Converter, pts []metricdata.DataPoint[N], gauge bool) (Value, error) {
	all := make([]roles, len(pts))
	for i := range pts {
		all[i] = rolesOf(c.attrs(i))
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
		obj[i] = member{name: r.subkey, recorded: r.value, num: numberOf(pts[i].Value), isNumber: !r.hasValue}
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

func genericPoints[N int64 | float64](c *Converter, pts []metricdata.DataPoint[N]) (Value, error) {
	a, err := attributedPoints(c, len(pts), func(i int) payload.Number { return numberOf(pts[i].Value) })
	return &sumPoints{a}, err
}

// attributedPoints makes the n points that point returns, with the
// attributes loaded for them, into an attributed value.
func attributedPoints[P any](c *Converter, n int, point func(i int) P) (attributed[P], error) {
	a := attributed[P]{points: make([]attributedPoint[P], 0, n)}
	for i := range n {
		if err := a.add(c, c.attrs(i), point(i)); err != nil {
			return a, err
		}
	}
	a.seal(c)
	return a, nil
}

// setPoints makes the n points that point returns, each with the
// attributes of its set (setOf) written as they are, into an attributed
// value.
func setPoints[P any](c *Converter, n int, setOf func(i int) *attribute.Set, point func(i int) P) (attributed[P], error) {
	a := attributed[P]{points: make([]attributedPoint[P], 0, n)}
	for i := range n {
		start := len(c.arena)
		if _, err := c.appendSet(setOf(i), true); err != nil {
			return a, err
		}
		a.points = append(a.points, attributedPoint[P]{start: start, end: len(c.arena), p: point(i)})
	}
	a.seal(c)
	return a, nil
}

func histogramShape[N int64 | float64](c *Converter, pts []metricdata.HistogramDataPoint[N]) (Value, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	a, err := setPoints(c, len(pts), func(i int) *attribute.Set { return &pts[i].Attributes }, func(i int) payload.Histogram {
		p := &pts[i]
		lo, hasLo := p.Min.Value()
		hi, hasHi := p.Max.Value()
		return payload.Histogram{
			Count: p.Count, Sum: numberOf(p.Sum),
			Min: numberOf(lo), HasMin: hasLo, Max: numberOf(hi), HasMax: hasHi,
			Bounds: p.Bounds, BucketCounts: p.BucketCounts,
		}
	})
	return &histograms{a}, err
}

func expHistogramShape[N int64 | float64](c *Converter, pts []metricdata.ExponentialHistogramDataPoint[N]) (Value, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	a, err := setPoints(c, len(pts), func(i int) *attribute.Set { return &pts[i].Attributes }, func(i int) payload.ExpHistogram {
		p := &pts[i]
		lo, hasLo := p.Min.Value()
		hi, hasHi := p.Max.Value()
		return payload.ExpHistogram{
			Count: p.Count, Sum: numberOf(p.Sum),
			Min: numberOf(lo), HasMin: hasLo, Max: numberOf(hi), HasMax: hasHi,
			Scale: p.Scale, ZeroCount: p.ZeroCount, ZeroThreshold: p.ZeroThreshold,
			Positive: payload.ExpBuckets{Offset: p.PositiveBucket.Offset, Counts: p.PositiveBucket.Counts},
			Negative: payload.ExpBuckets{Offset: p.NegativeBucket.Offset, Counts: p.NegativeBucket.Counts},
		}
	})
	return &expHistograms{a}, err
}

func summaryShape(c *Converter, pts []metricdata.SummaryDataPoint) (Value, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	a, err := setPoints(c, len(pts), func(i int) *attribute.Set { return &pts[i].Attributes }, func(i int) payload.Summary {
		qs := make([]payload.Quantile, len(pts[i].QuantileValues))
		for j, q := range pts[i].QuantileValues {
			qs[j] = payload.Quantile{Quantile: q.Quantile, Value: q.Value}
		}
		return payload.Summary{Count: pts[i].Count, Sum: pts[i].Sum, Quantiles: qs}
	})
	return &summaries{a}, err
}

// plainPoints converts the points of an ordinary instrument, whose
// attributes do not ask for one of the protocol's shapes, writing each
// set's JSON as it reads the set: one pass, nothing copied. plain is false
// when a point carries a protocol attribute, and the caller takes the long
// way (load, then pick the shape).
func plainPoints[N int64 | float64](c *Converter, pts []metricdata.DataPoint[N]) (v Value, plain bool, err error) {
	switch {
	case len(pts) == 0:
		return nil, true, nil
	case len(pts) == 1 && pts[0].Attributes.Len() == 0:
		return c.number(numberOf(pts[0].Value)), true, nil
	}
	base := len(c.arena)
	s := &sumPoints{}
	for i := range pts {
		start := len(c.arena)
		protocol, err := c.appendSet(&pts[i].Attributes, false)
		if protocol { // the long way, even when the set cannot be written
			c.arena = c.arena[:base]
			return nil, false, nil
		}
		if err != nil {
			return nil, true, err
		}
		if s.points == nil { // the first point is plain: so, mostly, are the others
			s.points = make([]attributedPoint[payload.Number], 0, len(pts))
		}
		s.points = append(s.points, attributedPoint[payload.Number]{start: start, end: len(c.arena), p: numberOf(pts[i].Value)})
	}
	s.seal(c)
	return s, true, nil
}

// appendSet appends the JSON of set to the arena. protocol reports an
// attribute of the protocol's (a shape or a key) among them; unless whole,
// the writing stops there and nothing is appended, since the caller then
// takes another way.
//
// Remembering the JSON of the sets of the last conversions, found by
// their Distinct and compared whole, was tried and measured: on fresh
// collections it cost more than writing the sets again (BENCHMARKS.md,
// "What each piece of the conversion buys").
func (c *Converter) appendSet(set *attribute.Set, whole bool) (protocol bool, err error) {
	c.w.Reset(c.arena)
	protocol, err = c.writeSet(set, whole)
	if err == nil && (whole || !protocol) {
		c.arena = c.w.Bytes()
	}
	return protocol, err
}

// writeSet writes a set as writeAttrs writes its attributes, and reports
// whether one of them is the protocol's; unless whole, it stops at the
// first such attribute.
func (c *Converter) writeSet(set *attribute.Set, whole bool) (protocol bool, err error) {
	if set.Len() == 0 {
		return false, nil
	}
	c.w.BeginObject()
	i := 0
	for it := set.Iter(); it.Next(); i++ {
		kv := it.Attribute()
		protocol = protocol || isShapeAttr(kv.Key) || isKeyAttr(kv.Key)
		if protocol && !whole {
			return true, nil
		}
		c.writeName(i, kv.Key)
		if err := writeAttrValue(&c.w, kv.Value); err != nil {
			// The set's other attributes still say whether it names a key
			// of its own: then only that key is lost, not the metric.
			for it.Next() {
				protocol = protocol || isShapeAttr(it.Attribute().Key) || isKeyAttr(it.Attribute().Key)
			}
			return protocol, err
		}
	}
	c.w.EndObject()
	return protocol, nil
}

// isShapeAttr reports an attribute that asks for one of the protocol's
// shapes; isKeyAttr one that names the point's key.
func isShapeAttr(k attribute.Key) bool {
	switch k {
	case payload.AttrValue, payload.AttrValueJSON, payload.AttrSubkey, payload.AttrIndex:
		return true
	}
	return false
}

func isKeyAttr(k attribute.Key) bool { return k == payload.AttrKey || k == payload.AttrKeySuffix }

// writeName writes the name of the attribute at position i of its set.
func (c *Converter) writeName(i int, key attribute.Key) {
	if i == len(c.names) {
		c.names = append(c.names, quotedName{})
	}
	if n := &c.names[i]; n.key != key || n.quoted == nil {
		n.key, n.quoted = key, payload.AppendString(n.quoted[:0], string(key))
	}
	c.w.QuotedName(c.names[i].quoted)
}

// writeAttrs writes the attributes of a set as a JSON object into c.w. A
// set is sorted by key, as encoding/json sorts the keys of a map.
func (c *Converter) writeAttrs(kvs []attribute.KeyValue) error {
	w := &c.w
	w.BeginObject()
	for i, kv := range kvs {
		c.writeName(i, kv.Key)
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
		w.WrittenJSON(b)
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
