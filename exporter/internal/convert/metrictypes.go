package convert

import (
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// metricType returns the type name to state for a key whose data is agg
// and whose converted value is v, or "" when a server reads the JSON as
// that type anyway: a whole number as an up-down counter, a counting set
// as a counter, an object or list of points as a gauge, and a value that
// is not a figure (a string, a list, a histogram) by its shape. Floating
// point types are always stated, since a whole float is written like an
// integer.
func metricType(agg metricdata.Aggregation, v Value) string {
	assumed := v.assumedType()
	if assumed == "" {
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
		return sumType(d.IsMonotonic, payload.MetricTypeCounter, payload.MetricTypeUpDownCounter)
	case metricdata.Sum[float64]:
		return sumType(d.IsMonotonic, payload.MetricTypeDoubleCounter, payload.MetricTypeDoubleUpDownCounter)
	case metricdata.Gauge[int64]:
		return payload.MetricTypeGauge
	case metricdata.Gauge[float64]:
		return payload.MetricTypeDoubleGauge
	}
	return ""
}

func sumType(monotonic bool, counter, upDown string) string {
	if monotonic {
		return counter
	}
	return upDown
}

// writeMetricTypes writes the metric_types member for the entries that
// need one; nothing when none does.
func writeMetricTypes(w *payload.Writer, entries []Entry) {
	opened := false
	for _, en := range entries {
		if en.MetricType == "" {
			continue
		}
		if !opened {
			w.Name(payload.MetricTypesMember)
			w.BeginObject()
			opened = true
		}
		w.Name(en.Key)
		w.String(en.MetricType)
	}
	if opened {
		w.EndObject()
	}
}
