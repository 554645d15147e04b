package exporter

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/payload"
)

// summaryOf is a summary of count figures for each attribute set.
func summaryOf(t *testing.T, count uint64, sets ...attribute.Set) convert.Value {
	t.Helper()
	s := metricdata.Summary{}
	for _, set := range sets {
		s.DataPoints = append(s.DataPoints, metricdata.SummaryDataPoint{Attributes: set, Count: count, Sum: float64(count),
			QuantileValues: []metricdata.QuantileValue{{Quantile: 0.5, Value: float64(count)}}})
	}
	rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{{Name: "s", Data: s}}}}}
	entries, problems := convert.Convert(new(convert.Converter), rm, convert.Options{})
	if len(problems) > 0 || len(entries) != 1 {
		t.Fatalf("converted %d entries, problems %v", len(entries), problems)
	}
	return entries[0].Value.Detach()
}

// Carried summaries of one attribute set cannot merge: the older is
// counted as dropped and reported once, never replaced silently.
func TestUnmergeableCarriedSummariesAreCountedAndReportedOnce(t *testing.T) {
	x, y := attribute.NewSet(attribute.String("a", "x")), attribute.NewSet(attribute.String("a", "y"))

	var mu sync.Mutex
	var reports []string
	exp, err := New(WithInstanceID(uuid.New()), WithErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, err.Error())
	})))
	if err != nil {
		t.Fatal(err)
	}
	keep := func(count uint64, sets ...attribute.Set) {
		entries := []convert.Entry{{Key: "s", Value: summaryOf(t, count, sets...)}}
		if err := exp.carriedSaved(exp.carried.Add(entries, 0)); err != nil {
			t.Fatal(err)
		}
	}
	keep(1, x, y)
	keep(2, x)
	keep(3, x, y)
	carried, _ := exp.carried.Take()
	_ = exp.carriedSaved(exp.carried.Taken())
	dropped := int64(-1)
	for _, en := range carried {
		if en.Key == payload.KeyDropped {
			dropped, _ = convert.IntegerOf(en.Value)
		}
	}
	if dropped != 3 {
		t.Errorf("%s = %d, want 3 (x twice, y once)", payload.KeyDropped, dropped)
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, r := range reports {
		if strings.Contains(r, "could not be merged") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reports of unmerged figures, want 1: %q", n, reports)
	}
}
