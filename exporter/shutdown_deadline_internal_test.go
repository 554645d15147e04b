package exporter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// A claim stops between owners once its context is done: a Shutdown's
// final update, or an Export, whose deadline passed reads no more
// orphaned files (hundreds of large journals take seconds), and what it
// left is claimed later.
func TestClaimStopsOnceItsContextIsDone(t *testing.T) {
	dir := t.TempDir()
	id := uuid.New()
	opts := []Option{WithEndpoint("http://127.0.0.1:1/v1/update/"), WithInstanceID(id), WithSpool(dir),
		WithRuntimeFigures(false), WithRetry(RetryConfig{}), WithErrorHandler(quietHandler{})}
	gone, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Export(context.Background(), countOf1()); err == nil {
		t.Fatal("an update reached a port nobody listens on")
	}
	_ = gone.Shutdown(context.Background()) // its carried figures stay, for the next
	next, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = next.Shutdown(context.Background()) }()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if c, release, _ := next.spool.ClaimOrphans(done); len(c.Owners) != 0 {
		release()
		t.Fatalf("a claim whose context was done took %d owners", len(c.Owners))
	}
	c, release, _ := next.spool.ClaimOrphans(context.Background())
	defer release()
	if len(c.Owners) != 1 {
		t.Errorf("the claim after it took %d owners, want the one left", len(c.Owners))
	}
}

type quietHandler struct{}

func (quietHandler) Handle(error) {}

func countOf1() *metricdata.ResourceMetrics {
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{{
		Name: "count",
		Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: []metricdata.DataPoint[int64]{{Value: 1}}},
	}}}}}
}

// The final update claims nothing: files a process now gone left after
// the first update (here, a second exporter of the instance that gave up)
// stay for the next process, rather than be read while Shutdown's
// deadline runs.
func TestFinalUpdateClaimsNothing(t *testing.T) {
	var mu sync.Mutex
	counted, requests := 0, 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := payload.DecodePayload(r.Body)
		mu.Lock()
		requests++
		if err == nil {
			counted += p.Int("count")
		}
		mu.Unlock()
		_ = payload.WriteResponse(w, http.StatusOK, payload.Response{NextUpdate: time.Hour})
	}))
	defer ts.Close()
	dir, id := t.TempDir(), uuid.New()
	common := []Option{WithInstanceID(id), WithSpool(dir), WithRuntimeFigures(false), WithRetry(RetryConfig{}), WithErrorHandler(quietHandler{})}
	exp, err := New(append([]Option{WithEndpoint(ts.URL + "/v1/update/")}, common...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(exp, WithCheckpointInterval(0))
	r.Start()
	// The first update claims before it is sent: once the server has it,
	// its claim is over.
	for i := 0; ; i++ {
		mu.Lock()
		sent := requests > 0
		mu.Unlock()
		if sent {
			break
		}
		if i == 2000 {
			t.Fatal("no first update within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	gone, err := New(append([]Option{WithEndpoint("http://127.0.0.1:1/v1/update/")}, common...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Export(context.Background(), countOf1()); err == nil {
		t.Fatal("an update reached a port nobody listens on")
	}
	_ = gone.Shutdown(context.Background())

	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if counted != 0 {
		t.Errorf("the server counted %d: the final update claimed the files of an exporter now gone", counted)
	}
	next, err := New(append([]Option{WithEndpoint(ts.URL + "/v1/update/")}, common...)...)
	if err != nil {
		t.Fatal(err)
	}
	mu.Unlock()
	err = next.Export(context.Background(), &metricdata.ResourceMetrics{})
	mu.Lock()
	if err != nil || counted != 1 {
		t.Errorf("the next process: %v, the server counted %d, want the 1 left", err, counted)
	}
	_ = next.Shutdown(context.Background())
}
