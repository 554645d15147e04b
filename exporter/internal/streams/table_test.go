package streams

import (
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/internal/journal"
)

// Streams take at most their budget of the journal; the points of sets
// past it are left for the carried file, and a stream freed at an update
// gives its room back.
func TestStreamsKeepWithinTheirShareOfTheJournal(t *testing.T) {
	j, err := journal.Create(filepath.Join(t.TempDir(), "journal.bin"), "instance")
	if err != nil {
		t.Fatal(err)
	}
	s := NewTable(j)
	none := func(string) bool { return false }
	sum := func(values ...int64) *metricdata.ResourceMetrics {
		pts := make([]metricdata.DataPoint[int64], len(values))
		for i, v := range values {
			pts[i] = metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.Int("i", i)), Value: v}
		}
		return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{{
			Name: "hits", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: pts},
		}}}}}
	}
	desc, _ := describeStream(instrumentID{"", "hits"}, true, attribute.NewSet(attribute.Int("i", 0)))
	s.budget = 3 * (streamRecordSize + len(desc))

	rest := s.Take(sum(1, 2, 3, 4, 5), none)
	if left := sumOf(t, rest, "hits"); left != 4+5 {
		t.Errorf("left %d for the carried file, want the last two sets' 9", left)
	}
	var drained metricdata.ResourceMetrics
	s.DrainInto(&drained, 1)
	j.Commit(1)
	if got := sumOf(t, &drained, "hits"); got != 1+2+3 {
		t.Errorf("drained %d, want the first three sets' 6", got)
	}
	s.DrainInto(&metricdata.ResourceMetrics{}, 2) // nothing new: every stream is freed
	j.Commit(2)
	if s.used != 0 {
		t.Errorf("freed streams still use %d bytes", s.used)
	}
	if left := sumOf(t, s.Take(sum(1, 2, 3), none), "hits"); left != 0 {
		t.Errorf("left %d for the carried file once the room was given back, want 0", left)
	}
}

// sumOf adds up the points of the integer sum named name in rm.
func sumOf(t *testing.T, rm *metricdata.ResourceMetrics, name string) int64 {
	t.Helper()
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == name {
				for _, p := range sum.DataPoints {
					total += p.Value
				}
			}
		}
	}
	return total
}
