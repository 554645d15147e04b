package exporter_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/google/uuid"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

func Example() {
	// A stand-in for the telemetry server.
	received := make(chan struct{}, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := payload.DecodePayload(r.Body)
		fmt.Println("server got requests =", p.Int("requests"))
		_ = payload.WriteResponse(w, http.StatusOK, payload.Response{NextUpdate: time.Hour})
		received <- struct{}{}
	}))
	defer srv.Close()

	exp, err := exporter.New(
		exporter.WithEndpoint(srv.URL+"/v1/update/"),
		exporter.WithInstanceID(uuid.MustParse("6a0f5f7e-7c1b-4c55-9b55-3f6f3a5e2b11")),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	reader := exporter.NewReader(exp)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	requests, _ := provider.Meter("example").Int64Counter("requests")
	requests.Add(context.Background(), 3)

	// Start sends the first update at once and then follows the server's
	// schedule (here: an hour); shutting down sends a final update.
	reader.Start()
	<-received
	requests.Add(context.Background(), 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := provider.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// server got requests = 3
	// server got requests = 2
}
