package exporter_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

// chaosServer honours Idempotency-Key and, until healed, answers each
// request with a fault drawn at random: before it took the update (a
// reset, 409, 503) or after (a reset, a captive portal's HTML, truncated
// JSON, a late answer past the request timeout). It counts each key's
// "count" once.
type chaosServer struct {
	mu      sync.Mutex
	healed  bool
	taken   map[string]bool
	counted int64
	dropped int64
	reqs    int
	faults  map[string]int
}

func (s *chaosServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get(payload.HeaderIdempotencyKey)
	p, err := payload.DecodePayload(bytes.NewReader(body))
	s.mu.Lock()
	s.reqs++
	fault := "ok"
	if !s.healed {
		fault = []string{"ok", "ok", "reset-before", "reset-after", "html-after", "truncated-after", "409", "503", "503", "slow-after"}[rand.N(10)]
	}
	s.faults[fault]++
	counts := err == nil && !s.taken[key] && fault != "reset-before" && fault != "409" && fault != "503" && fault != "400-before"
	if counts {
		s.taken[key] = true
		s.counted += int64(p.Int("count"))
		s.dropped += int64(p.Int(payload.KeyDropped))
	}
	s.mu.Unlock()
	switch fault {
	case "reset-before", "reset-after":
		c, _, _ := w.(http.Hijacker).Hijack()
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	case "html-after":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(200)
		io.WriteString(w, "<html>portal</html>")
	case "truncated-after":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		io.WriteString(w, `{"next_upd`)
	case "409":
		w.WriteHeader(409)
	case "503":
		w.WriteHeader(503)
	case "400-before":
		w.WriteHeader(400)
	case "slow-after":
		time.Sleep(30 * time.Millisecond)
		w.WriteHeader(204)
	default:
		w.WriteHeader(204)
	}
}

// Random faults while two goroutines flush (ForceFlush) in a loop and the
// Reader checkpoints every millisecond: the follow-up sends after an
// update sent again run outside the collect lock, beside checkpoints,
// flushes and, at the end, Shutdown. A later process sends what is left.
// Every increment is counted once.
func TestRandomFaultsWithFlushesAndCheckpointsCountOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of random faults")
	}
	for round := range 2 {
		srv := &chaosServer{taken: map[string]bool{}, faults: map[string]int{}}
		ts := httptest.NewServer(srv)
		dir := t.TempDir()
		url := ts.URL + "/v1/update/"
		r := exporter.NewReader(newExporterTo(t, url, exporter.WithSpool(dir), fastRetry(2), exporter.WithRequestTimeout(20*time.Millisecond), exporter.WithErrorHandler(otelHandlerFunc(func(error) {}))),
			exporter.WithCheckpointInterval(time.Millisecond))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
		c, _ := mp.Meter("m").Int64Counter("count")
		r.Start()
		var recorded atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					c.Add(context.Background(), 1)
					recorded.Add(1)
					time.Sleep(50 * time.Microsecond)
				}
			}()
		}
		var flushes sync.WaitGroup
		for range 2 {
			flushes.Add(1)
			go func() {
				defer flushes.Done()
				for i := 0; i < 60; i++ {
					_ = r.ForceFlush(context.Background())
				}
			}()
		}
		flushes.Wait()
		close(stop)
		wg.Wait()
		srv.mu.Lock()
		srv.healed = true
		srv.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := mp.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown against a healed server: %v", err)
		}
		cancel()
		// A next process claims what is left.
		if names, _ := filepath.Glob(filepath.Join(instanceDir(dir), "journal-*")); len(names) > 0 {
			t.Logf("round %d: journal left: %v", round, journalFigures(t, names[0]))
		}
		next := newExporterTo(t, url, exporter.WithSpool(dir))
		for range 3 {
			_ = next.Export(context.Background(), collection())
		}
		_ = next.Shutdown(context.Background())
		srv.mu.Lock()
		t.Logf("round %d: recorded %d counted %d dropped-items %d requests %d faults %v", round, recorded.Load(), srv.counted, srv.dropped, srv.reqs, srv.faults)
		if srv.counted != recorded.Load() {
			t.Errorf("round %d: recorded %d, counted %d (+%d dropped)", round, recorded.Load(), srv.counted, srv.dropped)
		}
		srv.mu.Unlock()
		ts.Close()
	}
}

// otelHandlerFunc is an otel.ErrorHandler; the faults are reported by
// design, so the test keeps them off the log.
type otelHandlerFunc func(error)

func (f otelHandlerFunc) Handle(err error) { f(err) }
