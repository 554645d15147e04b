package exporter_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
)

// A key whose value cannot be encoded is reported once: an update that
// could not reach the server does not carry it into the next one, where
// it would be reported again.
func TestUnencodableKeyIsNotCarriedAfterAnUnreachedUpdate(t *testing.T) {
	s := servertest.New(t)
	var problems servertest.ErrorLog
	exp := newExporter(t, s, fastRetry(2), exporter.WithHTTPClient(refusingClient(t, 2)), exporter.WithErrorHandler(&problems))
	ctx := context.Background()
	first := collection(
		metricdata.Metrics{Name: "bad", Data: metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{{Value: math.NaN()}}}},
		sum("count", pt(5)),
	)
	if err := exp.Export(ctx, first); err == nil {
		t.Fatal("the first update was delivered although the server could not be reached")
	}
	if err := exp.Export(ctx, collection()); err != nil {
		t.Fatal(err)
	}
	got := s.Requests()
	if len(got) != 1 || got[0].Payload(t).Int("count") != 5 {
		t.Fatalf("%d updates delivered, want one carrying count 5", len(got))
	}
	reports := 0
	for _, m := range problems.Messages() {
		if strings.Contains(m, `"bad"`) {
			reports++
		}
	}
	if reports != 1 {
		t.Errorf("the NaN key was reported %d times, want once: %q", reports, problems.Messages())
	}
}
