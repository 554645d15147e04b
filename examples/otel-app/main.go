// Command otel-app is the demo of telemetrybridge: a small HTTP service,
// instrumented both with OpenTelemetry instruments and with the documented
// telemetry API (package compat), reports to a telemetry server whose
// answers set the pace and, after the second update, disable a key.
//
//	go run ./examples/otel-app            # embedded server on 127.0.0.1
//	go run ./examples/otel-app -v         # full JSON of each update
//	go run ./examples/otel-app -endpoint https://telemetry.example.com/v1/update/
//	go run ./examples/otel-app -otlp      # also export over OTLP/HTTP (OTEL_EXPORTER_OTLP_*)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	telemetry "github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
	"github.com/telemetrybridge/telemetry/receiver"
)

// disabledByDemo is the key the embedded server disables after update 2.
const disabledByDemo = "user_agent"

type options struct {
	duration time.Duration
	interval time.Duration
	endpoint string
	otlp     bool
	verbose  bool
	types    bool
}

func main() { os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr)) }

func cli(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("otel-app", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long the service runs before it stops with a final update")
	fs.DurationVar(&o.interval, "interval", 2*time.Second, "the next_update the embedded server answers with")
	fs.StringVar(&o.endpoint, "endpoint", "", "send to this telemetry server (base URL) instead of the embedded one")
	fs.BoolVar(&o.otlp, "otlp", false, "also export the same figures over OTLP/HTTP, configured by OTEL_EXPORTER_OTLP_* variables")
	fs.BoolVar(&o.verbose, "v", false, "print each update as full JSON")
	fs.BoolVar(&o.types, "metric-types", false, "state the OpenTelemetry type of keys in each update, for the Collector receiver (collector/)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := run(context.Background(), o, stdout); err != nil {
		fmt.Fprintln(stderr, "otel-app:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, o options, out io.Writer) error {
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { fmt.Fprintln(out, "  telemetry:", err) }))
	p := &printer{out: out, verbose: o.verbose}
	id := uuid.New()
	var initOpts []telemetry.Option

	if o.endpoint == "" {
		endpoint, stop, err := startEmbeddedServer(id, o.interval, p)
		if err != nil {
			return err
		}
		defer stop()
		o.endpoint = endpoint
		fmt.Fprintf(out, "telemetry server (embedded) at %s, answering next_update=%s\n", endpoint, o.interval)
	} else {
		// No view of the server's side: show what goes over the wire instead.
		initOpts = append(initOpts, telemetry.WithExporterOptions(exporter.WithHTTPClient(&http.Client{Transport: &wireTap{p: p}})))
		fmt.Fprintf(out, "telemetry server at %s\n", o.endpoint)
	}
	initOpts = append(initOpts, telemetry.WithExporterOptions(exporter.WithEndpoint(o.endpoint)))
	if o.types {
		initOpts = append(initOpts, telemetry.WithExporterOptions(exporter.WithMetricTypes(true)))
	}
	if o.otlp {
		opt, err := otlpReader(ctx)
		if err != nil {
			return err
		}
		initOpts = append(initOpts, opt)
		fmt.Fprintln(out, "also exporting the same figures over OTLP/HTTP (OTEL_EXPORTER_OTLP_* variables)")
	}
	telemetry.InitWithOptions(id, nil, initOpts...)

	svc, err := startService(ctx)
	if err != nil {
		return err
	}
	defer svc.close()
	fmt.Fprintf(out, "service at http://%s, traffic for %s\n\n", svc.addr, o.duration)

	telemetry.StartEmitting()
	svc.driveTraffic(ctx, o.duration)

	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	fmt.Fprintln(out, "stopping: one final update")
	if err := telemetry.StopEmittingContext(stopCtx); err != nil {
		return err
	}
	fmt.Fprintf(out, "done: %d updates received\n", p.count())
	return nil
}

// startEmbeddedServer runs a receiver on loopback. Its answer to update 2
// disables disabledByDemo; later answers leave it disabled.
func startEmbeddedServer(id uuid.UUID, interval time.Duration, p *printer) (endpoint string, stop func(), err error) {
	var r *receiver.Receiver
	r = receiver.New(
		receiver.WithResponse(payload.Response{NextUpdate: interval}),
		receiver.WithOnUpdate(func(u receiver.Exchange) {
			n := p.update(u.Payload, u.Response)
			switch n {
			case 1: // the answer to the next update disables the key
				r.SetResponse(id, payload.Response{NextUpdate: interval, DisableKeys: []string{disabledByDemo}})
			case 2:
				r.SetResponse(id, payload.Response{NextUpdate: interval})
			}
		}),
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + receiver.DefaultPrefix, func() { _ = srv.Close() }, nil
}

// otlpReader adds a periodic OTLP/HTTP reader that gets the compat figures
// too. The export interval is 2 s unless OTEL_METRIC_EXPORT_INTERVAL says
// otherwise.
func otlpReader(ctx context.Context) (telemetry.Option, error) {
	exp, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	var opts []sdkmetric.PeriodicReaderOption
	if os.Getenv("OTEL_METRIC_EXPORT_INTERVAL") == "" {
		opts = append(opts, sdkmetric.WithInterval(2*time.Second))
	}
	return telemetry.WithReader(func(p sdkmetric.Producer) sdkmetric.Reader {
		return sdkmetric.NewPeriodicReader(exp, append(opts, sdkmetric.WithProducer(p))...)
	}), nil
}
