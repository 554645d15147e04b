package convert

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// keyedData is the data of one key of the payload.
type keyedData struct {
	key  string
	data metricdata.Aggregation
}

// splitByKey returns the keys that the data of the metric named key
// carries: its own, and those its points name with payload.AttrKey or
// payload.AttrKeySuffix (the attribute is removed from them). Only sums
// and gauges can carry several keys.
func splitByKey(key string, data metricdata.Aggregation) []keyedData {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		return splitPoints(key, d.DataPoints, func(p []metricdata.DataPoint[int64]) metricdata.Aggregation { d.DataPoints = p; return d })
	case metricdata.Sum[float64]:
		return splitPoints(key, d.DataPoints, func(p []metricdata.DataPoint[float64]) metricdata.Aggregation { d.DataPoints = p; return d })
	case metricdata.Gauge[int64]:
		return splitPoints(key, d.DataPoints, func(p []metricdata.DataPoint[int64]) metricdata.Aggregation { d.DataPoints = p; return d })
	case metricdata.Gauge[float64]:
		return splitPoints(key, d.DataPoints, func(p []metricdata.DataPoint[float64]) metricdata.Aggregation { d.DataPoints = p; return d })
	}
	return []keyedData{{key, data}}
}

func splitPoints[N int64 | float64](name string, pts []metricdata.DataPoint[N], rebuild func([]metricdata.DataPoint[N]) metricdata.Aggregation) []keyedData {
	var order []string
	byKey := make(map[string][]metricdata.DataPoint[N])
	for _, p := range pts {
		key := name
		if v, ok := p.Attributes.Value(payload.AttrKey); ok {
			key = v.AsString()
		} else if v, ok := p.Attributes.Value(payload.AttrKeySuffix); ok {
			key = payload.FamilyKey(name, v.AsString())
		}
		if key != name {
			p.Attributes, _ = p.Attributes.Filter(func(kv attribute.KeyValue) bool {
				return kv.Key != payload.AttrKey && kv.Key != payload.AttrKeySuffix
			})
		}
		if _, seen := byKey[key]; !seen {
			order = append(order, key)
		}
		byKey[key] = append(byKey[key], p)
	}
	out := make([]keyedData, len(order))
	for i, k := range order {
		out[i] = keyedData{k, rebuild(byKey[k])}
	}
	return out
}
