package bridge

import (
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// familyName returns the metric that carries key and the attribute that
// tells its points apart from the family's other keys: a key with a colon
// is a point of its family's metric ("tls:3fa2" is metric "tls" with
// telemetry.key_suffix="3fa2"), whatever call recorded it, so that readers
// see one metric per family. A key with nothing before its colon keeps a
// metric of its own.
func familyName(key string) (name string, suffix []attribute.KeyValue) {
	family, sfx, ok := payload.SplitFamily(key)
	if !ok || family == "" {
		return instrumentName(key), nil
	}
	return instrumentName(family), []attribute.KeyValue{attribute.String(payload.AttrKeySuffix, sfx)}
}

// heldFamilies gathers the gauges of held keys into one metric per name
// and point type: the keys of a family become points of one metric.
type heldFamilies struct {
	metrics []metricdata.Metrics
	at      map[familyID]int
}

type familyID struct {
	name  string
	float bool
}

func (f *heldFamilies) add(key string, data metricdata.Aggregation) {
	name, suffix := familyName(key)
	if suffix != nil {
		data = withAttrs(data, suffix)
	}
	_, float := data.(metricdata.Gauge[float64])
	id := familyID{name, float}
	i, seen := f.at[id]
	if !seen {
		if f.at == nil {
			f.at = make(map[familyID]int)
		}
		f.at[id] = len(f.metrics)
		f.metrics = append(f.metrics, metricdata.Metrics{Name: name, Data: data})
		return
	}
	switch d := f.metrics[i].Data.(type) {
	case metricdata.Gauge[int64]:
		d.DataPoints = append(d.DataPoints, data.(metricdata.Gauge[int64]).DataPoints...)
		f.metrics[i].Data = d
	case metricdata.Gauge[float64]:
		d.DataPoints = append(d.DataPoints, data.(metricdata.Gauge[float64]).DataPoints...)
		f.metrics[i].Data = d
	}
}

// sorted returns the metrics in name order, for a stable output.
func (f *heldFamilies) sorted() []metricdata.Metrics {
	slices.SortStableFunc(f.metrics, func(a, b metricdata.Metrics) int { return strings.Compare(a.Name, b.Name) })
	return f.metrics
}

// withAttrs adds attrs to every point of a held gauge.
func withAttrs(data metricdata.Aggregation, attrs []attribute.KeyValue) metricdata.Aggregation {
	switch d := data.(type) {
	case metricdata.Gauge[int64]:
		d.DataPoints = addAttrs(d.DataPoints, attrs)
		return d
	case metricdata.Gauge[float64]:
		d.DataPoints = addAttrs(d.DataPoints, attrs)
		return d
	}
	return data
}

func addAttrs[N int64 | float64](pts []metricdata.DataPoint[N], attrs []attribute.KeyValue) []metricdata.DataPoint[N] {
	for i := range pts {
		pts[i].Attributes = attribute.NewSet(append(pts[i].Attributes.ToSlice(), attrs...)...)
	}
	return pts
}
