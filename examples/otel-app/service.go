package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	telemetry "github.com/telemetrybridge/telemetry/compat"
)

// service is a small HTTP service, instrumented twice: OpenTelemetry
// instruments for a dashboard, and the documented telemetry calls a legacy
// program already makes.
type service struct {
	addr     string
	srv      *http.Server
	requests metric.Int64Counter
	latency  metric.Float64Histogram
	inFlight metric.Int64UpDownCounter
}

func startService(ctx context.Context) (*service, error) {
	meter := telemetry.MeterProvider().Meter("otel-app")
	s := &service{}
	var err error
	if s.requests, err = meter.Int64Counter("http.server.request.count"); err != nil {
		return nil, err
	}
	if s.latency, err = meter.Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.005, 0.01)); err != nil {
		return nil, err
	}
	if s.inFlight, err = meter.Int64UpDownCounter("http.server.active_requests"); err != nil {
		return nil, err
	}

	telemetry.Set("version", "1.4.2")
	telemetry.Set("os", runtime.GOOS)
	telemetry.Set("arch", runtime.GOARCH)
	telemetry.SetNested("build", "go", runtime.Version())
	telemetry.SetNested("build", "cpus", runtime.NumCPU())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *service) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	s.inFlight.Add(ctx, 1)
	defer s.inFlight.Add(ctx, -1)

	status := http.StatusOK
	if r.URL.Path == "/missing" {
		status = http.StatusNotFound
	}
	w.WriteHeader(status)
	fmt.Fprintln(w, "hello")

	telemetry.Increment("http_requests")
	telemetry.AppendUnique("user_agent", telemetry.FastHash([]byte(r.UserAgent())))
	attrs := metric.WithAttributes(attribute.String("http.request.method", r.Method), attribute.Int("http.response.status_code", status))
	s.requests.Add(ctx, 1, attrs)
	s.latency.Record(ctx, time.Since(start).Seconds(), attrs)
}

var userAgents = []string{"curl/8.5.0", "Go-http-client/1.1", "Mozilla/5.0 (X11; Linux x86_64)"}

// driveTraffic sends requests to the service until d has passed.
func (s *service) driveTraffic(ctx context.Context, d time.Duration) {
	client := &http.Client{Timeout: 5 * time.Second}
	paths := []string{"/", "/api/items", "/missing"}
	ticker := time.NewTicker(25 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(d)
	for i := 0; ; i++ {
		select {
		case <-ticker.C:
		case <-deadline:
			return
		case <-ctx.Done():
			return
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addr+paths[i%len(paths)]+"?n="+strconv.Itoa(i), nil)
		req.Header.Set("User-Agent", userAgents[i%len(userAgents)])
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}
}

func (s *service) close() { _ = s.srv.Close() }
