package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

// protocolServer is a minimal telemetry server: it keeps every payload and
// answers the n-th update with answers[n] (the last one repeats).
type protocolServer struct {
	mu       sync.Mutex
	payloads []payload.Payload
	paths    []string
	answers  []payload.Response
	arrived  chan struct{}
}

func (s *protocolServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := payload.DecodePayload(r.Body)
	if err != nil {
		_ = payload.WriteResponse(w, http.StatusBadRequest, payload.Response{Error: err.Error()})
		return
	}
	s.mu.Lock()
	s.payloads = append(s.payloads, p)
	s.paths = append(s.paths, r.URL.Path)
	answer := s.answers[min(len(s.payloads), len(s.answers))-1]
	s.mu.Unlock()
	_ = payload.WriteResponse(w, http.StatusOK, answer)
	s.arrived <- struct{}{}
}

func (s *protocolServer) wait(t *testing.T, n int) []payload.Payload {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		s.mu.Lock()
		got := append([]payload.Payload(nil), s.payloads...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-timeout:
			t.Fatalf("server got %d updates, want %d", len(got), n)
		}
	}
}

// TestEndToEnd runs an instrumented program against a loopback server: the
// first update goes out at once, the server's next_update sets the pace,
// its disable_keys takes a key out of the next update, and shutting down
// delivers a final update.
func TestEndToEnd(t *testing.T) {
	srv := &protocolServer{
		arrived: make(chan struct{}, 16),
		answers: []payload.Response{
			{NextUpdate: time.Second, DisableKeys: []string{"tls_client_hello_ua"}},
			{NextUpdate: time.Hour},
		},
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	id := uuid.New()
	exp, err := exporter.New(exporter.WithEndpoint(ts.URL+"/v1/update/"), exporter.WithInstanceID(id))
	if err != nil {
		t.Fatal(err)
	}
	reader := exporter.NewReader(exp)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	meter := provider.Meter("e2e")
	ctx := context.Background()

	requests, _ := meter.Int64Counter("http_requests")
	latency, _ := meter.Float64Histogram("latency", metric.WithExplicitBucketBoundaries(0.1, 1))
	hello, _ := meter.Int64Counter(exporter.KeyToInstrumentName("tls_client_hello_ua:3fa2c1b0"))
	byMethod, _ := meter.Int64Counter("by_method")

	requests.Add(ctx, 3)
	latency.Record(ctx, 0.05)
	hello.Add(ctx, 1)
	byMethod.Add(ctx, 2, metric.WithAttributes(attribute.String("method", "GET")))
	reader.Start()
	first := srv.wait(t, 1)[0]

	requests.Add(ctx, 4)
	hello.Add(ctx, 1)
	second := srv.wait(t, 2)[1]

	requests.Add(ctx, 5)
	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := provider.Shutdown(shutdownCtx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	all := srv.wait(t, 3)
	final := all[2]

	if srv.paths[0] != "/v1/update/"+id.String() || first.InstanceID != id.String() {
		t.Errorf("update went to %s for instance %s", srv.paths[0], first.InstanceID)
	}
	if first.Int("http_requests") != 3 || first.Int("tls_client_hello_ua:3fa2c1b0") != 1 || first.Int("goroutines") < 1 {
		t.Errorf("first update: %v", first.Data)
	}
	if _, ok := first.Data["memory"].(map[string]any)["heap_alloc"]; !ok {
		t.Errorf("first update has no memory figures: %v", first.Data["memory"])
	}
	if h, _ := first.Data["latency"].(map[string]any); h["count"] != 1.0 || h["sum"] != 0.05 {
		t.Errorf("latency histogram: %v", first.Data["latency"])
	}
	if pts, _ := first.Data["by_method"].([]any); len(pts) != 1 {
		t.Errorf("by_method: %v", first.Data["by_method"])
	}
	if second.Int("http_requests") != 4 {
		t.Errorf("second update counted %v requests, want the 4 since the first", second.Data["http_requests"])
	}
	if _, ok := second.Data["tls_client_hello_ua:3fa2c1b0"]; ok {
		t.Errorf("a key the server disabled was sent: %v", second.Data)
	}
	if _, ok := second.Data["latency"]; ok {
		t.Errorf("the histogram was repeated without new records: %v", second.Data["latency"])
	}
	if final.Int("http_requests") != 5 {
		t.Errorf("final update: %v", final.Data)
	}
	if gap := second.Timestamp.Sub(first.Timestamp); gap < 900*time.Millisecond {
		t.Errorf("second update %v after the first, want next_update = 1s", gap)
	}
}
