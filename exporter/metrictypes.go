package exporter

import (
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Names of OpenTelemetry types that an update states for its keys when
// WithMetricTypes is on. JSON alone cannot tell a gauge reading from a
// count, nor 3.0 from 3; a server that turns updates back into metrics
// (the Collector receiver of this project) reads these names to restore
// the type. Histograms and summaries need none: their shapes say it.
const (
	MetricTypeCounter             = "counter"       // monotonic delta sum of integers
	MetricTypeUpDownCounter       = "updowncounter" // delta sum of integers
	MetricTypeGauge               = "gauge"         // integer gauge
	MetricTypeDoubleCounter       = "double_counter"
	MetricTypeDoubleUpDownCounter = "double_updowncounter"
	MetricTypeDoubleGauge         = "double_gauge"
)

// MetricTypesMember is the top-level member of the payload JSON that maps
// keys to their type names. It is an addition to the documented Payload:
// servers that do not know it skip it, as encoding/json does.
const MetricTypesMember = "metric_types"

// metricType returns the type name to state for a key whose data is agg
// and whose converted value is v, or "" when a server reads the JSON as
// that type anyway: a whole number as an up-down counter, a counting set
// as a counter, an object or list of points as a gauge, and a value that
// is not a number (a string, a boolean, a list) as an info gauge. Floating
// point types are always stated, since a whole float is written like an
// integer.
func metricType(agg metricdata.Aggregation, v any) string {
	var assumed string
	switch v.(type) {
	case int64:
		assumed = MetricTypeUpDownCounter
	case countingPoints:
		assumed = MetricTypeCounter
	case float64, map[string]any, []genericPoint:
		assumed = MetricTypeGauge
	default:
		return ""
	}
	if stated := typeOf(agg); stated != assumed {
		return stated
	}
	return ""
}

func typeOf(agg metricdata.Aggregation) string {
	switch d := agg.(type) {
	case metricdata.Sum[int64]:
		return sumType(d.IsMonotonic, MetricTypeCounter, MetricTypeUpDownCounter)
	case metricdata.Sum[float64]:
		return sumType(d.IsMonotonic, MetricTypeDoubleCounter, MetricTypeDoubleUpDownCounter)
	case metricdata.Gauge[int64]:
		return MetricTypeGauge
	case metricdata.Gauge[float64]:
		return MetricTypeDoubleGauge
	}
	return ""
}

func sumType(monotonic bool, counter, upDown string) string {
	if monotonic {
		return counter
	}
	return upDown
}

// appendMetricTypes writes the metric_types member for the entries that
// need one; nothing when none does.
func appendMetricTypes(b []byte, entries []keyed) []byte {
	start := len(b)
	for _, en := range entries {
		if en.metricType == "" {
			continue
		}
		if len(b) == start {
			b = append(b, `,"`+MetricTypesMember+`":{`...)
		} else {
			b = append(b, ',')
		}
		b = appendString(b, en.key)
		b = append(b, ':')
		b = appendString(b, en.metricType)
	}
	if len(b) > start {
		b = append(b, '}')
	}
	return b
}
