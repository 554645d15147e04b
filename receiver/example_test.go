package receiver_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/google/uuid"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
	"github.com/telemetrybridge/telemetry/receiver"
)

// A receiver in a test: the client under test reports to it, and the test
// reads what arrived.
func Example() {
	r := receiver.New(receiver.WithResponse(payload.Response{NextUpdate: time.Hour}))
	srv := httptest.NewServer(r)
	defer srv.Close()

	id := uuid.New()
	exp, _ := exporter.New(exporter.WithEndpoint(srv.URL+receiver.DefaultPrefix), exporter.WithInstanceID(id))
	reader := exporter.NewReader(exp)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	hits, _ := provider.Meter("example").Int64Counter("hits")
	hits.Add(context.Background(), 3)
	_ = reader.ForceFlush(context.Background())

	for _, p := range r.Payloads(id) {
		fmt.Println("hits:", p.Int("hits"), "expect_next set:", !p.ExpectNext.IsZero())
	}
	// Output: hits: 3 expect_next set: true
}
