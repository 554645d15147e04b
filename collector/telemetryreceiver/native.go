package telemetryreceiver

import (
	"encoding/json" // json.Number only, the type payload's decoder gives numbers
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// The exporter writes histograms, exponential histograms and summaries as
// objects with fixed members (see the payload package). An object is read
// as one of them only when its members are exactly of that shape, so a
// SetNested object that merely has a "count" stays an object.

var (
	histogramMembers = members{
		required: []string{"count", "sum", "bounds", "bucket_counts"},
		optional: []string{"attributes", "min", "max"},
	}
	expHistogramMembers = members{
		required: []string{"count", "sum", "scale", "zero_count", "zero_threshold", "positive", "negative"},
		optional: []string{"attributes", "min", "max"},
	}
	summaryMembers = members{
		required: []string{"count", "sum", "quantiles"},
		optional: []string{"attributes"},
	}
)

type members struct{ required, optional []string }

func (ms members) match(m map[string]any) bool {
	for _, k := range ms.required {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	extra := len(m) - len(ms.required)
	for _, k := range ms.optional {
		if _, ok := m[k]; ok {
			extra--
		}
	}
	return extra == 0
}

// native converts obj if it is a histogram, an exponential histogram or
// a summary, and reports whether it was.
func (p pointSet) native(obj map[string]any) bool {
	return p.nativeList([]any{obj})
}

// nativeList converts items if they all are points of one native shape;
// otherwise it leaves no trace.
func (p pointSet) nativeList(items []any) bool {
	objs := make([]map[string]any, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return false
		}
		objs[i] = m
	}
	switch {
	case all(objs, histogramMembers.match):
		return addParsed(p, objs, parseHistogram, func() pmetric.HistogramDataPointSlice {
			return p.c.metric(p.name, kindHistogram).Histogram().DataPoints()
		})
	case all(objs, expHistogramMembers.match):
		return addParsed(p, objs, parseExpHistogram, func() pmetric.ExponentialHistogramDataPointSlice {
			return p.c.metric(p.name, kindExpHistogram).ExponentialHistogram().DataPoints()
		})
	case all(objs, summaryMembers.match):
		return addParsed(p, objs, parseSummary, func() pmetric.SummaryDataPointSlice {
			return p.c.metric(p.name, kindSummary).Summary().DataPoints()
		})
	}
	return false
}

// nativePoint is what the pmetric point types of native shapes share.
type nativePoint[P any] interface {
	SetTimestamp(pcommon.Timestamp)
	Attributes() pcommon.Map
	MoveTo(P)
}

// addParsed parses every object first, so that one that fails leaves the
// update without a half-made metric, then moves the points into the slice
// that dest makes.
func addParsed[P nativePoint[P], S interface{ AppendEmpty() P }](p pointSet, objs []map[string]any, parse func(map[string]any) (P, bool), dest func() S) bool {
	parsed := make([]P, len(objs))
	for i, o := range objs {
		pt, ok := parse(o)
		if _, hasAttrs := o["attributes"]; hasAttrs {
			_, isObj := o["attributes"].(map[string]any)
			ok = ok && isObj
		}
		if !ok {
			return false
		}
		parsed[i] = pt
	}
	slice := dest()
	for i, pt := range parsed {
		pt.SetTimestamp(p.c.ts)
		putAttrs(pt.Attributes(), p.base, pointAttrs(objs[i]))
		pt.MoveTo(slice.AppendEmpty())
	}
	return true
}

// fields reads the members of a native point; the first member of the
// wrong type makes ok false.
type fields struct {
	m  map[string]any
	ok bool
}

func (f *fields) uint(k string) uint64 {
	n, isNum := f.m[k].(json.Number)
	i, err := n.Int64()
	if !isNum || err != nil || i < 0 {
		f.ok = false
	}
	return uint64(i)
}

func (f *fields) int32(k string) int32 {
	n, isNum := f.m[k].(json.Number)
	i, err := strconv.ParseInt(string(n), 10, 32)
	if !isNum || err != nil {
		f.ok = false
	}
	return int32(i)
}

func (f *fields) float(k string) float64 {
	n, isNum := f.m[k].(json.Number)
	v, err := n.Float64()
	if !isNum || err != nil {
		f.ok = false
	}
	return v
}

// optFloat reads a member that may be absent, as min and max are.
func (f *fields) optFloat(k string, set func(float64)) {
	if _, present := f.m[k]; present {
		set(f.float(k))
	}
}

func (f *fields) list(k string, each func(json.Number) bool) {
	l, isList := f.m[k].([]any)
	if !isList {
		f.ok = false
		return
	}
	for _, e := range l {
		n, isNum := e.(json.Number)
		if !isNum || !each(n) {
			f.ok = false
			return
		}
	}
}

func (f *fields) uints(k string, dst pcommon.UInt64Slice) {
	f.list(k, func(n json.Number) bool {
		i, err := n.Int64()
		dst.Append(uint64(i))
		return err == nil && i >= 0
	})
}

func (f *fields) floats(k string, dst pcommon.Float64Slice) {
	f.list(k, func(n json.Number) bool {
		v, err := n.Float64()
		dst.Append(v)
		return err == nil
	})
}

// buckets reads one side of an exponential histogram:
// {"offset", "bucket_counts"}.
func (f *fields) buckets(k string, dst pmetric.ExponentialHistogramDataPointBuckets) {
	m, isObj := f.m[k].(map[string]any)
	side := fields{m: m, ok: isObj && len(m) == 2}
	dst.SetOffset(side.int32("offset"))
	side.uints("bucket_counts", dst.BucketCounts())
	f.ok = f.ok && side.ok
}

// distribution is what histogram points of both kinds share.
type distribution interface {
	SetCount(uint64)
	SetSum(float64)
	SetMin(float64)
	SetMax(float64)
}

// distribution reads the members that both histogram shapes have.
func (f *fields) distribution(dp distribution) {
	dp.SetCount(f.uint("count"))
	dp.SetSum(f.float("sum"))
	f.optFloat("min", dp.SetMin)
	f.optFloat("max", dp.SetMax)
}

func parseHistogram(m map[string]any) (pmetric.HistogramDataPoint, bool) {
	dp := pmetric.NewHistogramDataPoint()
	f := fields{m: m, ok: true}
	f.distribution(dp)
	f.floats("bounds", dp.ExplicitBounds())
	f.uints("bucket_counts", dp.BucketCounts())
	return dp, f.ok && dp.BucketCounts().Len() == dp.ExplicitBounds().Len()+1
}

func parseExpHistogram(m map[string]any) (pmetric.ExponentialHistogramDataPoint, bool) {
	dp := pmetric.NewExponentialHistogramDataPoint()
	f := fields{m: m, ok: true}
	f.distribution(dp)
	dp.SetScale(f.int32("scale"))
	dp.SetZeroCount(f.uint("zero_count"))
	dp.SetZeroThreshold(f.float("zero_threshold"))
	f.buckets("positive", dp.Positive())
	f.buckets("negative", dp.Negative())
	return dp, f.ok
}

func parseSummary(m map[string]any) (pmetric.SummaryDataPoint, bool) {
	dp := pmetric.NewSummaryDataPoint()
	f := fields{m: m, ok: true}
	dp.SetCount(f.uint("count"))
	dp.SetSum(f.float("sum"))
	qs, isList := m["quantiles"].([]any)
	f.ok = f.ok && isList
	for _, q := range qs {
		qm, isObj := q.(map[string]any)
		qf := fields{m: qm, ok: isObj && len(qm) == 2}
		qv := dp.QuantileValues().AppendEmpty()
		qv.SetQuantile(qf.float("quantile"))
		qv.SetValue(qf.float("value"))
		f.ok = f.ok && qf.ok
	}
	return dp, f.ok
}
