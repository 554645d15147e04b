package exporter

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

// splitByKey returns the keys a metric carries: its own name's, and those
// its points name with payload.AttrKey or payload.AttrKeySuffix (the attribute is removed
// from them). Only sums and gauges can carry several keys.
func splitByKey(m metricdata.Metrics) []keyedData {
	key := payload.InstrumentNameToKey(m.Name)
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		return splitPoints(key, d.DataPoints, func(p []metricdata.DataPoint[int64]) metricdata.Aggregation { d.DataPoints = p; return d })
	case metricdata.Sum[float64]:
		return splitPoints(key, d.DataPoints, func(p []metricdata.DataPoint[float64]) metricdata.Aggregation { d.DataPoints = p; return d })
	case metricdata.Gauge[int64]:
		return splitPoints(key, d.DataPoints, func(p []metricdata.DataPoint[int64]) metricdata.Aggregation { d.DataPoints = p; return d })
	case metricdata.Gauge[float64]:
		return splitPoints(key, d.DataPoints, func(p []metricdata.DataPoint[float64]) metricdata.Aggregation { d.DataPoints = p; return d })
	}
	return []keyedData{{key, m.Data}}
}

// carriesKeys reports whether any point of agg names its own key.
func carriesKeys(agg metricdata.Aggregation) bool {
	switch d := agg.(type) {
	case metricdata.Sum[int64]:
		return anyKeyed(d.DataPoints)
	case metricdata.Sum[float64]:
		return anyKeyed(d.DataPoints)
	case metricdata.Gauge[int64]:
		return anyKeyed(d.DataPoints)
	case metricdata.Gauge[float64]:
		return anyKeyed(d.DataPoints)
	}
	return false
}

func splitPoints[N int64 | float64](name string, pts []metricdata.DataPoint[N], rebuild func([]metricdata.DataPoint[N]) metricdata.Aggregation) []keyedData {
	if !anyKeyed(pts) {
		return []keyedData{{name, rebuild(pts)}}
	}
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

func anyKeyed[N int64 | float64](pts []metricdata.DataPoint[N]) bool {
	for _, p := range pts {
		if p.Attributes.Len() > 0 && (p.Attributes.HasValue(payload.AttrKey) || p.Attributes.HasValue(payload.AttrKeySuffix)) {
			return true
		}
	}
	return false
}
