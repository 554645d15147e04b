package convert

import (
	"math"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// Points that name keys of their own (payload.AttrKey), one of which has
// an attribute JSON cannot carry: only that point's key is lost, whatever
// order the SDK hands the points in.
func TestKeyedPointWithUnwritableAttributeLosesOnlyItsKey(t *testing.T) {
	bad := metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String(payload.AttrKey, "a"), attribute.Float64("zz", math.NaN())), Value: 1}
	// An unwritable attribute whose name sorts before the key's.
	badFirst := metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String(payload.AttrKey, "c"), attribute.Float64("aa", math.Inf(1))), Value: 3}
	good := metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String(payload.AttrKey, "b")), Value: 2}
	for _, pts := range [][]metricdata.DataPoint[int64]{{good, bad}, {bad, good}, {badFirst, good}, {good, badFirst, bad}} {
		rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
			{Name: "g", Data: metricdata.Gauge[int64]{DataPoints: pts}},
		}}}}
		entries, problems := Convert(new(Converter), rm, Options{})
		if keys := keysOf(entries); len(keys) != 1 || keys[0] != "b" {
			t.Errorf("first point %v: keys %v, problems %v; want b kept, a dropped", pts[0].Attributes.ToSlice(), keys, problems)
		}
	}
}
