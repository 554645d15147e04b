package compat

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// The documented API, signature for signature: a program written against
// the original package compiles against this one.
var (
	_ func(uuid.UUID, []string)            = Init
	_ func(string, interface{})            = Set
	_ func(string, string, interface{})    = SetNested
	_ func(string, interface{})            = Append
	_ func(string, interface{})            = AppendUnique
	_ func(string, int)                    = Add
	_ func(string)                         = Increment
	_ func()                               = Reset
	_ func()                               = StartEmitting
	_ func()                               = StopEmitting
	_ func([]byte) string                  = FastHash
	_ func(Payload, string) int            = Payload.Int
	_ func(*Response) *payload.Response    = func(r *Response) *payload.Response { return r }
	_ func(context.Context) error          = StopEmittingContext
	_ func(uuid.UUID, []string, ...Option) = InitWithOptions
)

// fresh forgets the client of an earlier test; only tests may do this.
func fresh(t testing.TB) {
	t.Helper()
	t.Setenv(EnvSpoolDir, t.TempDir()) // never the user's cache
	stop := func() {
		if c := current.Load(); c != nil && c.bridge != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = c.bridge.Shutdown(ctx)
			cancel()
		}
		current.Store(nil)
	}
	stop()
	t.Cleanup(stop)
}

// initTo initialises the package to report to s.
func initTo(t *testing.T, s *servertest.Server, disabled []string, opts ...Option) {
	t.Helper()
	fresh(t)
	t.Setenv(EnvEndpoint, s.Endpoint())
	InitWithOptions(uuid.New(), disabled, opts...)
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

func everyCall() {
	Set("s", 1)
	SetNested("n", "a", 1)
	Append("l", 1)
	AppendUnique("u", 1)
	Add("a", 2)
	Increment("i")
	Reset()
}

func TestBeforeInitEverythingIsANoOp(t *testing.T) {
	fresh(t)
	everyCall()
	StartEmitting()
	StartEmitting() // not initialised: no panic either
	StopEmitting()
	if err := StopEmittingContext(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestInitMisusePanics(t *testing.T) {
	fresh(t)
	mustPanic(t, "Init with the zero UUID", func() { Init(uuid.Nil, nil) })
	s := servertest.New(t)
	initTo(t, s, nil)
	mustPanic(t, "a second Init", func() { Init(uuid.New(), nil) })
}

func TestStartSendsAtOnceAndStopSendsFinal(t *testing.T) {
	s := servertest.New(t)
	initTo(t, s, []string{"os,", " arch "})
	Increment("requests")
	Set("os", "linux")
	Set("arch", "amd64")
	StartEmitting()
	first := s.Wait(t, 1)[0].Payload(t)
	mustPanic(t, "a second StartEmitting", StartEmitting)

	Add("requests", 2)
	AppendUnique("ua", FastHash([]byte("hello")))
	StopEmitting()
	got := s.Requests()
	if len(got) != 2 {
		t.Fatalf("%d updates, want the first and the final", len(got))
	}
	final := got[1].Payload(t)
	if first.Int("requests") != 1 || first.Int("goroutines") < 1 || first.Data["memory"] == nil {
		t.Errorf("first update %v", first.Data)
	}
	if _, ok := first.Data["os"]; ok {
		t.Errorf("a key disabled at Init was sent: %v", first.Data)
	}
	if final.Int("requests") != 2 || final.Data["ua"] == nil {
		t.Errorf("final update %v", final.Data)
	}
	Increment("after") // after stopping: a no-op
	StopEmitting()     // and again
	if n := len(s.Requests()); n != 2 {
		t.Errorf("%d updates after stopping", n-2)
	}
}

func TestStopIsBoundedAndConcurrentStopsAreSafe(t *testing.T) {
	s := servertest.New(t)
	s.SetFallback(servertest.Reply{Status: 200, Delay: time.Minute})
	initTo(t, s, nil)
	StartEmitting()
	s.Wait(t, 1)

	// Recording goes on while the update hangs.
	recorded := make(chan struct{})
	go func() {
		for range 100_000 {
			Increment("busy")
		}
		close(recorded)
	}()
	select {
	case <-recorded:
	case <-time.After(10 * time.Second):
		t.Fatal("recording blocked while an update was in flight")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for range 3 {
		wg.Go(func() { _ = StopEmittingContext(ctx) })
	}
	wg.Wait()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stopping took %v with a 300 ms bound", took)
	}
}

func TestOptOut(t *testing.T) {
	for _, env := range [][2]string{{EnvDoNotTrack, "1"}, {EnvDoNotTrack, "true"}, {EnvOTelSDKDisabled, "true"}, {EnvMode, "off"}} {
		t.Run(env[0]+"="+env[1], func(t *testing.T) {
			s := servertest.New(t)
			t.Setenv(env[0], env[1])
			initTo(t, s, nil)
			everyCall()
			StartEmitting()
			// fresh gave a spool directory of its own: a program that
			// reports holds a lock file there from Init on; one that opted
			// out writes nothing.
			if entries, err := os.ReadDir(os.Getenv(EnvSpoolDir)); err != nil || len(entries) != 0 {
				t.Errorf("opting out wrote into the spool directory: %v %v", entries, err)
			}
			mustPanic(t, "a second StartEmitting", StartEmitting)
			mustPanic(t, "a second Init", func() { Init(uuid.New(), nil) })
			StopEmitting()
			if n := len(s.Requests()); n != 0 {
				t.Errorf("%d requests after opting out", n)
			}
		})
	}
}

func TestEnvironmentDisablesKeys(t *testing.T) {
	s := servertest.New(t)
	t.Setenv(EnvDisabledMetrics, "os,, arch ,tls")
	initTo(t, s, nil)
	Set("os", 1)
	Set("arch", 1)
	Increment("tls:3fa2")
	Set("kept", 1)
	StartEmitting()
	p := s.Wait(t, 1)[0].Payload(t)
	for _, k := range []string{"os", "arch", "tls:3fa2"} {
		if _, ok := p.Data[k]; ok {
			t.Errorf("disabled key %q was sent", k)
		}
	}
	if p.Int("kept") != 1 {
		t.Errorf("data %v", p.Data)
	}
}

func TestServerDirectivesReachRecording(t *testing.T) {
	s := servertest.New(t,
		servertest.JSON(payload.Response{NextUpdate: time.Second, DisableKeys: []string{"ua"}}),
	)
	initTo(t, s, nil)
	StartEmitting()
	s.Wait(t, 2) // the second update comes after the first answer was applied
	AppendUnique("ua", "x")
	Increment("n")
	if err := StopEmittingContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	final := s.Requests()[2].Payload(t)
	if _, ok := final.Data["ua"]; ok || final.Int("n") != 1 {
		t.Errorf("final update %v: ua should be disabled by the server", final.Data)
	}
}

func TestOptionsReachExporterAndExtraReaders(t *testing.T) {
	s := servertest.New(t)
	var other *sdkmetric.ManualReader
	var calls int
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		return http.DefaultTransport.RoundTrip(r)
	})}
	initTo(t, s, nil,
		WithExporterOptions(exporter.WithHTTPClient(client)),
		WithReader(func(p sdkmetric.Producer) sdkmetric.Reader {
			other = sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
			return other
		}))
	Increment("n")
	Set("v", "x")
	native, _ := MeterProvider().Meter("app").Int64Counter("native")
	native.Add(context.Background(), 2)

	var rm metricdata.ResourceMetrics
	if err := other.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names[m.Name] = true
		}
	}
	if !names["n"] || !names["v"] || !names["native"] {
		t.Errorf("the extra reader saw %v, want n, v and native", names)
	}
	StartEmitting()
	p := s.Wait(t, 1)[0].Payload(t)
	if calls != 1 || p.Int("n") != 1 || p.Int("native") != 2 {
		t.Errorf("%d calls through the given client; data %v", calls, p.Data)
	}
}

// A reader added with WithDeltaReader gets each collection's increase,
// marked as a delta, where a WithReader one gets the running total.
func TestDeltaReaderGetsIncreases(t *testing.T) {
	s := servertest.New(t)
	var deltas, totals *sdkmetric.ManualReader
	initTo(t, s, nil,
		WithDeltaReader(func(p sdkmetric.Producer) sdkmetric.Reader {
			deltas = sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
			return deltas
		}),
		WithReader(func(p sdkmetric.Producer) sdkmetric.Reader {
			totals = sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
			return totals
		}))
	sumOf := func(r *sdkmetric.ManualReader) (int64, metricdata.Temporality) {
		t.Helper()
		var rm metricdata.ResourceMetrics
		if err := r.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "n" {
					return sum.DataPoints[0].Value, sum.Temporality
				}
			}
		}
		return 0, 0
	}
	Add("n", 3)
	d1, dt := sumOf(deltas)
	c1, ct := sumOf(totals)
	Add("n", 4)
	d2, _ := sumOf(deltas)
	c2, _ := sumOf(totals)
	if d1 != 3 || d2 != 4 || dt != metricdata.DeltaTemporality {
		t.Errorf("delta reader got %d then %d (%v), want 3 then 4 as deltas", d1, d2, dt)
	}
	if c1 != 3 || c2 != 7 || ct != metricdata.CumulativeTemporality {
		t.Errorf("cumulative reader got %d then %d (%v), want 3 then 7 as cumulative sums", c1, c2, ct)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestFastHash(t *testing.T) {
	for in, want := range map[string]string{"hello": "4f9f2cab", "": "811c9dc5", "a": "e40c292c"} {
		if got := FastHash([]byte(in)); got != want {
			t.Errorf("FastHash(%q) = %s, want %s", in, got, want)
		}
	}
	// Any input, of every length around the loop's edges, hashes as the
	// original did (hash/fnv and fmt, as the benchmarks' baseline does).
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		in := make([]byte, n%40+n/10)
		for i := range in {
			in[i] = byte(rng.Uint32())
		}
		if got, want := FastHash(in), newBaseline().FastHash(in); got != want {
			t.Fatalf("FastHash(%x) = %s, the original gives %s", in, got, want)
		}
	}
}

func TestLocalModeWritesInsteadOfSending(t *testing.T) {
	s := servertest.New(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = stderr }()
	t.Setenv(EnvMode, "local")
	initTo(t, s, nil)
	Set("version", "1.0")
	StartEmitting()
	StopEmitting()
	os.Stderr = stderr
	_ = w.Close()
	out, _ := io.ReadAll(r)
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests in local mode", n)
	}
	if strings.Count(string(out), `"version": "1.0"`) != 1 || strings.Count(string(out), `"instance_id"`) != 2 {
		t.Errorf("local output, want two payloads, the first with the version:\n%s", out)
	}
}

func TestNothingIsSentBeforeStartEmitting(t *testing.T) {
	s := servertest.New(t)
	initTo(t, s, nil)
	everyCall()
	Set("version", "1")
	time.Sleep(300 * time.Millisecond)
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("%d requests before StartEmitting", n)
	}
	StartEmitting()
	if p := s.Wait(t, 1)[0].Payload(t); p.Data["version"] != "1" {
		t.Errorf("the first update lacks what was recorded before it: %v", p.Data)
	}
}
