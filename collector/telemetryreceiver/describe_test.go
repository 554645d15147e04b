package telemetryreceiver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// describe renders every point of md as one line, so that tests compare
// the whole conversion exactly:
//
//	name type {attr=value, ...} = value
//
// where type is gauge, sum (delta, not monotonic) or counter (delta,
// monotonic); integers print as 7 and doubles as 7.0; string attributes
// are quoted. Lines keep the order of metrics and points.
func describe(md pmetric.Metrics) []string {
	var lines []string
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				lines = append(lines, describeMetric(ms.At(k))...)
			}
		}
	}
	return lines
}

func describeMetric(m pmetric.Metric) []string {
	var lines []string
	line := func(typ string, attrs pcommon.Map, value string) {
		lines = append(lines, fmt.Sprintf("%s %s %s= %s", m.Name(), typ, describeAttrs(attrs), value))
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		numberLines(m.Gauge().DataPoints(), "gauge", line)
	case pmetric.MetricTypeSum:
		s := m.Sum()
		typ := "sum"
		if s.IsMonotonic() {
			typ = "counter"
		}
		if s.AggregationTemporality() != pmetric.AggregationTemporalityDelta {
			typ += "(cumulative)"
		}
		numberLines(s.DataPoints(), typ, line)
	case pmetric.MetricTypeHistogram:
		pts := m.Histogram().DataPoints()
		for i := 0; i < pts.Len(); i++ {
			p := pts.At(i)
			line("histogram", p.Attributes(), fmt.Sprintf("count=%d sum=%v min=%s max=%s bounds=%v counts=%v",
				p.Count(), p.Sum(), optional(p.HasMin(), p.Min()), optional(p.HasMax(), p.Max()),
				p.ExplicitBounds().AsRaw(), p.BucketCounts().AsRaw()))
		}
	case pmetric.MetricTypeExponentialHistogram:
		pts := m.ExponentialHistogram().DataPoints()
		for i := 0; i < pts.Len(); i++ {
			p := pts.At(i)
			line("exphistogram", p.Attributes(), fmt.Sprintf("count=%d sum=%v scale=%d zero=%d/%v positive=%d%v negative=%d%v",
				p.Count(), p.Sum(), p.Scale(), p.ZeroCount(), p.ZeroThreshold(),
				p.Positive().Offset(), p.Positive().BucketCounts().AsRaw(),
				p.Negative().Offset(), p.Negative().BucketCounts().AsRaw()))
		}
	case pmetric.MetricTypeSummary:
		pts := m.Summary().DataPoints()
		for i := 0; i < pts.Len(); i++ {
			p := pts.At(i)
			var qs []string
			for j := 0; j < p.QuantileValues().Len(); j++ {
				q := p.QuantileValues().At(j)
				qs = append(qs, fmt.Sprintf("%v:%v", q.Quantile(), q.Value()))
			}
			line("summary", p.Attributes(), fmt.Sprintf("count=%d sum=%v quantiles=%v", p.Count(), p.Sum(), qs))
		}
	}
	if len(lines) == 0 { // no type, or a type without points
		lines = append(lines, m.Name()+" (empty metric)")
	}
	return lines
}

func numberLines(pts pmetric.NumberDataPointSlice, typ string, line func(string, pcommon.Map, string)) {
	for i := 0; i < pts.Len(); i++ {
		p := pts.At(i)
		if p.ValueType() == pmetric.NumberDataPointValueTypeDouble {
			v := strconv.FormatFloat(p.DoubleValue(), 'f', -1, 64)
			if !strings.ContainsAny(v, ".e") {
				v += ".0"
			}
			line(typ, p.Attributes(), v)
		} else {
			line(typ, p.Attributes(), strconv.FormatInt(p.IntValue(), 10))
		}
	}
}

func optional(has bool, v float64) string {
	if !has {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func describeAttrs(m pcommon.Map) string {
	if m.Len() == 0 {
		return ""
	}
	var parts []string
	for k, v := range m.All() {
		s := v.AsString()
		if v.Type() == pcommon.ValueTypeStr {
			s = strconv.Quote(s)
		} else if v.Type() == pcommon.ValueTypeDouble && !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		parts = append(parts, k+"="+s)
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, ", ") + "} "
}
