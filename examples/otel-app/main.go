// Command otel-app shows the whole flow on one machine: an OpenTelemetry
// instrumented program reports to a telemetry server on loopback, the
// server's answers set the pace, and one answer disables a key.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "how long to run before stopping")
	flag.Parse()
	if err := run(*duration); err != nil {
		log.Fatal(err)
	}
}

func run(duration time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := newDemoServer(os.Stdout)
	go func() { _ = http.Serve(ln, srv) }()
	defer ln.Close()

	exp, err := exporter.New(
		exporter.WithEndpoint("http://"+ln.Addr().String()+"/v1/update/"),
		exporter.WithInstanceID(uuid.New()),
	)
	if err != nil {
		return err
	}
	reader := exporter.NewReader(exp)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	meter := provider.Meter("otel-app")
	requests, _ := meter.Int64Counter("http_requests")
	hello, _ := meter.Int64Counter(exporter.KeyToInstrumentName("tls_client_hello_ua:3fa2c1b0"))

	reader.Start()
	ctx := context.Background()
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) {
		requests.Add(ctx, 1)
		hello.Add(ctx, 1)
		time.Sleep(100 * time.Millisecond)
	}

	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := provider.Shutdown(stopCtx); err != nil {
		return fmt.Errorf("final update: %w", err)
	}
	fmt.Println("stopped after a final update")
	return nil
}
