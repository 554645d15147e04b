package fleetprocessor

import (
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// otherValue is what every attribute of a folded series says.
const otherValue = "other"

// The protocol's attributes that carry a recorded value (payload.AttrValue
// and payload.AttrValueJSON): a gauge point with one is a value, not a
// reading.
const (
	attrValue     = "telemetry.value"
	attrValueJSON = "telemetry.value_json"
)

// countKind tells the totals of one metric name apart: a sum, monotonic
// or not, or a histogram with its bounds.
type countKind struct {
	monotonic bool
	histogram bool
	bounds    string // the histogram's bounds, as text
}

func (k countKind) tag() string {
	switch {
	case k.histogram:
		return "h" + k.bounds
	case k.monotonic:
		return "m"
	}
	return "u"
}

// total is a running total: a sum's, or a histogram's.
type total struct {
	i      int64
	f      float64
	double bool
	hist   *histTotal
}

type histTotal struct {
	bounds []float64
	counts []uint64
	count  uint64
	sum    float64
}

func (t *total) addNumber(dp pmetric.NumberDataPoint) {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
		t.f += dp.DoubleValue()
		t.double = true
		return
	}
	t.i += dp.IntValue()
}

func (t *total) addHistogram(dp pmetric.HistogramDataPoint) {
	if t.hist == nil {
		t.hist = &histTotal{bounds: dp.ExplicitBounds().AsRaw(), counts: make([]uint64, dp.ExplicitBounds().Len()+1)}
	}
	for i, n := range dp.BucketCounts().All() {
		if i < len(t.hist.counts) {
			t.hist.counts[i] += n
		}
	}
	t.hist.count += dp.Count()
	t.hist.sum += dp.Sum()
}

func (t *total) merge(o *total) {
	t.i += o.i
	t.f += o.f
	t.double = t.double || o.double
	if o.hist == nil {
		return
	}
	if t.hist == nil {
		t.hist = &histTotal{bounds: o.hist.bounds, counts: make([]uint64, len(o.hist.counts))}
	}
	for i, n := range o.hist.counts {
		t.hist.counts[i] += n
	}
	t.hist.count += o.hist.count
	t.hist.sum += o.hist.sum
}

// countSeries is the running total of one metric and attribute set, across
// the instances of this replica.
type countSeries struct {
	metric string
	kind   countKind
	// attrs, like every series' attribute map here, is never written once
	// the series is made: a snapshot reads it outside the lock (state.go).
	attrs pcommon.Map
	fold  string // key of the "other" series it folds into
	total
	recent recentInstances
}

// attrKey writes attributes as text that tells attribute sets apart,
// whatever their order.
func attrKey(b *strings.Builder, m pcommon.Map, skip func(string) bool) {
	keys := make([]string, 0, m.Len())
	for k := range m.All() {
		if skip == nil || !skip(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, _ := m.Get(k)
		b.WriteString(strconv.Quote(k))
		b.WriteByte('=')
		b.WriteByte(byte('0' + v.Type()))
		b.WriteString(strconv.Quote(v.AsString()))
		b.WriteByte(',')
	}
}

// seriesKey identifies a series: its metric, its kind and its attributes
// (but those skip names).
func seriesKey(metric, kind string, m pcommon.Map, skip func(string) bool) string {
	var b strings.Builder
	b.WriteString(strconv.Quote(metric))
	b.WriteString(kind)
	b.WriteByte('{')
	attrKey(&b, m, skip)
	return b.String()
}

// foldOf returns the key and the attributes of the "other" series that the
// series of metric with attributes m folds into: the same attribute names,
// each saying "other", so that one name's rare values add up in one place.
func foldOf(metric, kind string, m pcommon.Map, skip func(string) bool) (string, pcommon.Map) {
	folded := pcommon.NewMap()
	for k := range m.All() {
		if skip == nil || !skip(k) {
			folded.PutStr(k, otherValue)
		}
	}
	return seriesKey(metric, kind, folded, nil), folded
}

func boundsText(b pcommon.Float64Slice) string {
	var s strings.Builder
	for _, v := range b.All() {
		s.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		s.WriteByte(' ')
	}
	return s.String()
}

func isValueAttr(k string) bool { return k == attrValue || k == attrValueJSON }

// slot is what an instance holds one value or one reading of: a gauge's
// metric and attributes, without the value's own attribute.
type slot struct {
	key     string
	metric  string
	reading bool
	attrs   pcommon.Map
	// holders is how many instances hold a value or reading of the slot.
	holders int
	values  map[string]*valueSeries
	// overflow holds the instances whose value found the series cap full;
	// it always counts as "other".
	overflow *valueSeries
}

// valueSeries is one value of a slot and how many instances hold it now.
type valueSeries struct {
	key     string
	attrs   pcommon.Map // the value's attribute alone
	holders int
}

// instanceState is what is kept of one instance: when it last reported,
// and its latest value and reading of each slot.
type instanceState struct {
	seen     int64
	expired  bool // its window passed; kept a while to notice it coming back
	held     []heldValue
	readings []reading
}

type heldValue struct {
	slot  *slot
	value *valueSeries
}

type reading struct {
	slot  *slot
	value float64
}
