package exporter_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

func TestDeltaUpdatesDoNotRepeat(t *testing.T) {
	p := newPipeline(t)
	ctx := context.Background()
	c, _ := p.meter.Int64Counter("hits")
	g, _ := p.meter.Int64Gauge("version")
	c.Add(ctx, 5)
	g.Record(ctx, 2)
	first := p.flush(t)
	c.Add(ctx, 2)
	second := p.flush(t)
	third := p.flush(t)
	if first.Int("hits") != 5 || first.Int("version") != 2 {
		t.Errorf("first update %v", first.Data)
	}
	if second.Int("hits") != 2 {
		t.Errorf("second update hits = %v, want 2 (only what happened since)", second.Data["hits"])
	}
	if _, ok := second.Data["version"]; ok {
		t.Errorf("the gauge was repeated: %v", second.Data)
	}
	if third.Data != nil {
		t.Errorf("third update %v, want no data", third.Data)
	}
}

// startedPipeline is a pipeline whose reader follows the server's schedule.
func startedPipeline(t *testing.T, s *servertest.Server, opts ...exporter.Option) (*exporter.Reader, *sdkmetric.MeterProvider) {
	t.Helper()
	r := exporter.NewReader(newExporter(t, s, opts...))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	r.Start()
	return r, mp
}

func TestStartSendsAtOnceThenFollowsNextUpdate(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Second}))
	start := time.Now()
	startedPipeline(t, s)
	got := s.Wait(t, 2)
	if first := got[0].At.Sub(start); first > 500*time.Millisecond {
		t.Errorf("first update after %v, want at once", first)
	}
	if gap := got[1].At.Sub(got[0].At); gap < 900*time.Millisecond || gap > 5*time.Second {
		t.Errorf("second update %v after the first, want next_update = 1s", gap)
	}
}

func TestShortNextUpdateMeansDefaultInterval(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: 500 * time.Millisecond}))
	startedPipeline(t, s)
	s.Wait(t, 1)
	time.Sleep(1500 * time.Millisecond)
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d updates within 1.5 s of a 500 ms next_update, want 1 (the default interval is an hour)", n)
	}
}

func TestStopDirectiveEndsSchedule(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Second, Stop: true}))
	r, _ := startedPipeline(t, s)
	s.Wait(t, 1)
	time.Sleep(1500 * time.Millisecond)
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d updates after stop (the final one included), want 1", n)
	}
}

func TestShutdownSendsFinalUpdate(t *testing.T) {
	s := servertest.New(t)
	r, mp := startedPipeline(t, s)
	s.Wait(t, 1)
	c, _ := mp.Meter("t").Int64Counter("late")
	c.Add(context.Background(), 4)
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.Requests()
	if len(got) != 2 || got[1].Payload(t).Int("late") != 4 {
		t.Fatalf("%d updates; want 2, the final one with late=4", len(got))
	}
	if err := r.Shutdown(context.Background()); !errors.Is(err, sdkmetric.ErrReaderShutdown) {
		t.Errorf("second Shutdown: %v, want ErrReaderShutdown", err)
	}
}

func TestShutdownWithoutStartSendsNothing(t *testing.T) {
	s := servertest.New(t)
	r := exporter.NewReader(newExporter(t, s))
	_ = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests from a reader never started", n)
	}
}

func TestShutdownIsBoundedWhenServerHangs(t *testing.T) {
	s := servertest.New(t)
	s.SetFallback(servertest.Reply{Status: 200, Delay: time.Minute})
	r, _ := startedPipeline(t, s)
	s.Wait(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := r.Shutdown(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Shutdown took %v with a 500 ms deadline", took)
	}
	if err == nil {
		t.Error("Shutdown reported success although the final update could not be delivered")
	}
}

func TestShutdownWaitsForInFlightUpdateThenSendsFinal(t *testing.T) {
	// The first update is answered after a second; Shutdown comes during it.
	s := servertest.New(t, servertest.Reply{Status: http.StatusNoContent, Delay: time.Second})
	r, mp := startedPipeline(t, s)
	s.Wait(t, 1)
	c, _ := mp.Meter("t").Int64Counter("during")
	c.Add(context.Background(), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	got := s.Requests()
	if len(got) != 2 || got[1].Payload(t).Int("during") != 1 {
		t.Fatalf("%d updates; want the one in flight and a final one carrying during=1", len(got))
	}
	if gap := got[1].At.Sub(got[0].At); gap < 900*time.Millisecond {
		t.Errorf("the final update went out %v after the first, before the first was answered", gap)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(s.Requests()); n != 2 {
		t.Errorf("%d updates after Shutdown returned, want none", n-2)
	}
}

func TestShutdownStopsRetriesOfInFlightUpdate(t *testing.T) {
	s := servertest.New(t)
	s.SetFallback(servertest.Reply{Status: 503})
	r := exporter.NewReader(newExporter(t, s, slowRetry()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	r.Start()
	s.Wait(t, 1) // the first attempt failed; an hour of back-off follows
	s.SetFallback(servertest.Reply{Status: http.StatusNoContent})
	start := time.Now()
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Shutdown waited %v behind the back-off", took)
	}
	if n := len(s.Requests()); n != 2 {
		t.Errorf("%d requests, want the failed attempt and the final update", n)
	}
}

func TestConcurrentShutdownsAreSafe(t *testing.T) {
	s := servertest.New(t)
	r, _ := startedPipeline(t, s)
	s.Wait(t, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- r.Shutdown(context.Background()) })
	}
	wg.Wait()
	close(errs)
	var ok int
	for err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, sdkmetric.ErrReaderShutdown) {
			t.Errorf("Shutdown: %v", err)
		}
	}
	if ok != 1 || len(s.Requests()) != 2 {
		t.Errorf("%d successful shutdowns and %d updates, want 1 and 2", ok, len(s.Requests()))
	}
}

func TestFinalUpdateDoesNotWaitOnTooManyRequests(t *testing.T) {
	s := servertest.New(t)
	r, _ := startedPipeline(t, s)
	s.Wait(t, 1)
	s.SetFallback(servertest.Reply{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "60"}})
	start := time.Now()
	err := r.Shutdown(context.Background())
	mustContain(t, err, "429", "not delivered")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("final update waited %v on a 429", took)
	}
}

func TestTwiceStartedReaderSendsOneFirstUpdate(t *testing.T) {
	rec := servertest.CaptureErrors(t)
	s := servertest.New(t)
	r, _ := startedPipeline(t, s)
	r.Start()
	s.Wait(t, 1)
	time.Sleep(200 * time.Millisecond)
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d first updates, want 1", n)
	}
	if len(rec.Messages()) != 1 {
		t.Errorf("the second Start was not reported: %v", rec.Messages())
	}
}
