package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/payload"
)

// lastBody is a loopback server that keeps the data of the last update.
type lastBody struct {
	mu   sync.Mutex
	data map[string]any
	n    int
}

func (s *lastBody) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p, err := payload.DecodePayload(bytes.NewReader(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if err == nil {
		s.data = p.Data
	}
	w.WriteHeader(http.StatusNoContent)
}

// sentWith records steps of figures through record, with a checkpoint
// after each step but the last, then sends one update and returns its data as JSON
// text per key. Unless streams is set, checkpoints keep every figure in
// the carried file, as they did before streams.
func sentWith(t *testing.T, steps int, streams bool, record func(m metric.Meter, step int)) map[string]string {
	t.Helper()
	srv := &lastBody{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	exp, err := New(WithEndpoint(ts.URL+"/v1/update/"), WithInstanceID(uuid.New()), WithRuntimeFigures(false), WithSpool(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if !streams {
		exp.streams = nil
	}
	r := NewReader(exp, WithCheckpointInterval(0))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	ctx := context.Background()
	for step := range steps {
		record(mp.Meter("app"), step)
		if step == steps-1 {
			break // the update's own collection holds the last step
		}
		for _, err := range r.checkpoint(ctx) {
			t.Logf("checkpoint: %v", err)
		}
	}
	if err := r.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	out := make(map[string]string, len(srv.data))
	for k, v := range srv.data {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = string(b)
	}
	return out
}

// Streams keep what the carried file would have kept: the same
// recordings, checkpointed into streams or into the carried file alone,
// send the same update, whatever the instruments' names, kinds and
// attribute sets.
func TestCheckpointsSendWhatAnUpdateWithoutThemSends(t *testing.T) {
	add := func(m metric.Meter, name string, n int64, kvs ...attribute.KeyValue) {
		c, err := m.Int64Counter(name)
		if err != nil {
			t.Fatal(err)
		}
		c.Add(context.Background(), n, metric.WithAttributes(kvs...))
	}
	upDown := func(m metric.Meter, name string, n int64, kvs ...attribute.KeyValue) {
		c, err := m.Int64UpDownCounter(name)
		if err != nil {
			t.Fatal(err)
		}
		c.Add(context.Background(), n, metric.WithAttributes(kvs...))
	}
	many := make([]attribute.KeyValue, 3000)
	for i := range many {
		many[i] = attribute.Int(strings.Repeat("k", 1+i%40)+string(rune('a'+i%26))+string(rune('A'+i/26%26))+string(rune('0'+i/676)), i)
	}
	for _, tc := range []struct {
		name   string
		record func(m metric.Meter, step int)
	}{
		{"a counter and an up-down counter of one name", func(m metric.Meter, step int) {
			add(m, "x", 3)
			upDown(m, "x", -2)
		}},
		{"an up-down counter first, then a counter of its name", func(m metric.Meter, step int) {
			upDown(m, "x", -2)
			if step > 0 {
				add(m, "x", 3)
			}
		}},
		{"an integer and a float counter of one name", func(m metric.Meter, step int) {
			add(m, "x", 3)
			f, _ := m.Float64Counter("x")
			f.Add(context.Background(), 0.5)
		}},
		{"extreme attribute sets", func(m metric.Meter, step int) {
			add(m, "sets", 1)
			add(m, "sets", 2, many...)
			add(m, "sets", 3, attribute.String("huge", strings.Repeat("é", 100_000)))
			add(m, "sets", 4, attribute.String("bad", "\xff\xfe"))
			add(m, "sets", 5, attribute.Float64("nan", math.NaN()))
			add(m, "sets", 6, attribute.Float64("inf", math.Inf(1)))
			add(m, "sets", 7, attribute.String("", ""))
		}},
		{"extreme attribute sets that JSON can carry", func(m metric.Meter, step int) {
			add(m, "sets", 1)
			add(m, "sets", 2, many...)
			add(m, "sets", 3, attribute.String("huge", strings.Repeat("é", 100_000)))
			add(m, "sets", 4, attribute.String("bad", "\xff\xfe"))
			add(m, "sets", 7, attribute.String("", ""))
			add(m, "sets", 8, attribute.String("k", "v"), attribute.Bool("b", step%2 == 0))
		}},
		{"a counter whose points give keys of their own", func(m metric.Meter, step int) {
			add(m, "k", 1, attribute.String(payload.AttrKey, "y"))
			add(m, "k", 5, attribute.String(payload.AttrKeySuffix, "s"))
		}},
		{"sums past int64", func(m metric.Meter, step int) {
			add(m, "big", math.MaxInt64)
			upDown(m, "low", math.MinInt64)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := sentWith(t, 4, false, tc.record)
			got := sentWith(t, 4, true, tc.record)
			if len(got) != len(want) {
				t.Errorf("with streams, keys %v; with the carried file alone, %v", keys(got), keys(want))
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s: with streams %.300s; with the carried file alone %.300s", k, got[k], w)
				}
			}
		})
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// countOnce is a loopback server that honours update keys and counts each
// key's "hits" once; the first request is taken and its answer lost, so
// that the update is pending, to be sent again.
type countOnce struct {
	mu    sync.Mutex
	taken map[string]bool
	hits  int
	reqs  int
}

func (s *countOnce) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p, err := payload.DecodePayload(bytes.NewReader(body))
	key := r.Header.Get(payload.HeaderIdempotencyKey)
	s.mu.Lock()
	s.reqs++
	first := s.reqs == 1
	if err == nil && !s.taken[key] {
		s.taken[key] = true
		s.hits += p.Int("hits")
	}
	s.mu.Unlock()
	if first {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = c.Close()
		}
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// What streams held when an update went out with a pending one before it
// is carried; when the carried file cannot be written then, the update
// that takes it from memory and is delivered hands the streams'
// generation over: a process that dies afterwards must not have them
// claimed again from its journal.
func TestStreamsCarriedInMemoryAreHandedOverWhenDelivered(t *testing.T) {
	srv := &countOnce{taken: map[string]bool{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	id, dir := uuid.New(), t.TempDir()
	exp, err := New(WithEndpoint(ts.URL+"/v1/update/"), WithInstanceID(id), WithRuntimeFigures(false), WithSpool(dir),
		WithRetry(RetryConfig{Enabled: false}), WithErrorHandler(discardErrors{}))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(exp, WithCheckpointInterval(0))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	hits, err := mp.Meter("app").Int64Counter("hits")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hits.Add(ctx, 5)
	if err := r.ForceFlush(ctx); err == nil {
		t.Fatal("the first update, whose answer was lost, was reported delivered")
	}
	hits.Add(ctx, 7)
	if errs := r.checkpoint(ctx); len(errs) > 0 {
		t.Fatal(errs)
	}
	unwritable := blockCarriedFile(t, SpoolInstanceDir(dir, id))
	if err := r.ForceFlush(ctx); err != nil { // the pending update, then the carried 7
		t.Fatal(err)
	}
	if err := os.RemoveAll(unwritable); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	got := srv.hits
	srv.mu.Unlock()
	if got != 12 {
		t.Fatalf("the server counted %d, want 12", got)
	}
	if !exp.journal.Empty() {
		t.Errorf("after every figure was delivered, the journal still holds figures to claim (settled: %v)", exp.journal.Settled())
	}
}

type discardErrors struct{}

func (discardErrors) Handle(error) {}

// blockCarriedFile makes the carried file of the one exporter using inst
// impossible to write or remove, as a full or broken disk would: a
// directory that holds a file stands in its place (a rename over it
// fails, and so does removing it). It returns that directory's path.
func blockCarriedFile(t *testing.T, inst string) string {
	t.Helper()
	locks, err := filepath.Glob(filepath.Join(inst, "owner-*.lock"))
	if err != nil || len(locks) != 1 {
		t.Fatalf("owner locks %v (%v), want one", locks, err)
	}
	token := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(locks[0]), "owner-"), ".lock")
	blocked := filepath.Join(inst, "carried-"+token+".json")
	if err := os.Mkdir(blocked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "in-the-way"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return blocked
}
