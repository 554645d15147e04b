package convert

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// buildEntries converts a collection of a good counter, a NaN gauge and,
// when big, a gauge whose one point takes more than MaxUpdateBytes.
func buildEntries(t *testing.T, big bool) []Entry {
	t.Helper()
	metrics := []metricdata.Metrics{
		{Name: "good", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true,
			DataPoints: []metricdata.DataPoint[int64]{{Value: 9}}}},
		{Name: "nan", Data: metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{
			{Attributes: attribute.NewSet(attribute.Int("a", 1)), Value: math.NaN()},
			{Attributes: attribute.NewSet(attribute.Int("a", 2)), Value: 1},
		}}},
	}
	if big {
		metrics = append(metrics, metricdata.Metrics{Name: "zbig", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
			{Attributes: attribute.NewSet(attribute.String("s", strings.Repeat("x", MaxUpdateBytes))), Value: 1},
		}}})
	}
	rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: metrics}}}
	entries, errs := Convert(new(Converter), rm, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return entries
}

func keysOf(entries []Entry) []string {
	var keys []string
	for _, en := range entries {
		keys = append(keys, en.Key)
	}
	return keys
}

// A key that cannot be encoded is reported once and left out of the
// entries Build returns (those the body holds), whether or not the update
// is also over its bound; it is never counted under KeyDropped, which
// counts what the bound left out, so one NaN gives the same update either
// way.
func TestUnencodableKeyIsReportedOnceAndCountedTheSameOverTheBound(t *testing.T) {
	for _, big := range []bool{false, true} {
		var b Buffers
		kept, body, problems := b.Build(Envelope{Instance: "i", Time: time.Unix(1, 0)}, buildEntries(t, big))
		nanReports := 0
		for _, p := range problems {
			if strings.Contains(p.Error(), `"nan"`) {
				nanReports++
			}
		}
		if nanReports != 1 {
			t.Errorf("big=%v: the NaN key is reported %d times, want once: %v", big, nanReports, problems)
		}
		if strings.Contains(string(*body), `"nan"`) {
			t.Errorf("big=%v: the body holds the NaN key", big)
		}
		for _, en := range kept {
			if en.Key == "nan" {
				t.Errorf("big=%v: Build returns the NaN key among the entries the body holds: %v", big, keysOf(kept))
			}
		}
		dropped := int64(0)
		for _, en := range kept {
			if en.Key == payload.KeyDropped {
				dropped, _ = IntegerOf(en.Value)
			}
		}
		if want := map[bool]int64{false: 0, true: 1}[big]; dropped != want {
			t.Errorf("big=%v: %s = %d, want %d (the big key's one item)", big, payload.KeyDropped, dropped, want)
		}
		if len(*body) > MaxUpdateBytes {
			t.Errorf("big=%v: body of %d bytes", big, len(*body))
		}
	}
}
