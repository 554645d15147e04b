package telemetryreceiver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// newHandler is the receiver made by the factory, served without a
// network.
func newHandler(t *testing.T, cfg *Config, next consumer.Metrics) http.Handler {
	t.Helper()
	f := NewFactory()
	rcv, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	return rcv.(*telemetryReceiver)
}

// serve posts body for id with an Idempotency-Key (none when empty).
func serve(h http.Handler, id uuid.UUID, key string, body []byte) *httptest.ResponseRecorder {
	return servertest.Post(h, DefaultPath+id.String(), key, body)
}

func TestRepeatedKeyIsConsumedOnce(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	h := newHandler(t, testConfig(), sink)
	first := serve(h, testID, "u1", updateBody(testID, `{"n": 1}`))
	again := serve(h, testID, "u1", updateBody(testID, `{"n": 1}`))
	if first.Code != 200 || again.Code != 200 || again.Body.String() != first.Body.String() {
		t.Errorf("answers %d %q then %d %q, want the same 200", first.Code, first.Body, again.Code, again.Body)
	}
	serve(h, testID, "u2", updateBody(testID, `{"n": 1}`))
	serve(h, testID, "", updateBody(testID, `{"n": 1}`))
	if n := len(sink.AllMetrics()); n != 3 {
		t.Errorf("ConsumeMetrics called %d times, want 3 (u1 once, u2, one without a key)", n)
	}
}

// blockingSink holds its first update until released.
type blockingSink struct {
	consumertest.MetricsSink
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *blockingSink) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	s.once.Do(func() {
		close(s.entered)
		<-s.release
	})
	return s.MetricsSink.ConsumeMetrics(ctx, md)
}

func TestConcurrentSameKeyIsConsumedOnce(t *testing.T) {
	sink := &blockingSink{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHandler(t, testConfig(), sink)
	body := updateBody(testID, `{"n": 1}`)
	var first, others sync.WaitGroup
	first.Go(func() { serve(h, testID, "same", body) })
	<-sink.entered
	var conflicts atomic.Int64
	for range 32 {
		others.Go(func() {
			if w := serve(h, testID, "same", body); w.Code == http.StatusConflict && w.Header().Get("Retry-After") != "" {
				conflicts.Add(1)
			}
		})
	}
	others.Wait() // all answered while the first is in flight
	close(sink.release)
	first.Wait()
	replay := serve(h, testID, "same", body)
	if n := len(sink.AllMetrics()); n != 1 || conflicts.Load() != 32 || replay.Code != 200 {
		t.Errorf("consumed %d, 409 with Retry-After %d of 32, then %d: want 1, 32, 200", n, conflicts.Load(), replay.Code)
	}
}

func TestRefusedUpdateCanBeRetriedWithItsKey(t *testing.T) {
	sink := &refusingSink{err: errors.New("memory limit reached")}
	sink.refusals.Store(1)
	h := newHandler(t, testConfig(), sink)
	if w := serve(h, testID, "k", updateBody(testID, `{"n": 1}`)); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("refused: %d", w.Code)
	}
	for range 2 {
		if w := serve(h, testID, "k", updateBody(testID, `{"n": 1}`)); w.Code != 200 {
			t.Fatalf("retry: %d %s", w.Code, w.Body)
		}
	}
	if n := len(sink.AllMetrics()); n != 1 {
		t.Errorf("consumed %d times, want once", n)
	}
}

func TestKeyPastTheWindowIsConsumedAgain(t *testing.T) {
	cfg := testConfig()
	cfg.Idempotency.MaxKeys = 2
	sink := new(consumertest.MetricsSink)
	h := newHandler(t, cfg, sink)
	for _, k := range []string{"a", "b", "c", "a", "c"} {
		serve(h, testID, k, updateBody(testID, `{"n": 1}`))
	}
	// a, b, c are new; a was forgotten (the window holds two), c was not.
	if n := len(sink.AllMetrics()); n != 4 {
		t.Errorf("consumed %d times, want 4", n)
	}
	cfg.Idempotency.MaxKeys = 0 // the header ignored
	sink.Reset()
	h = newHandler(t, cfg, sink)
	serve(h, testID, "a", updateBody(testID, `{"n": 1}`))
	serve(h, testID, "a", updateBody(testID, `{"n": 1}`))
	if n := len(sink.AllMetrics()); n != 2 {
		t.Errorf("with max_keys 0: consumed %d times, want 2", n)
	}
}

func TestScheduleOfTheDefaultConfig(t *testing.T) {
	cfg := testConfig()
	def := createDefaultConfig()
	cfg.Schedule = def.Schedule
	sink := new(consumertest.MetricsSink)
	h := newHandler(t, cfg, sink)
	answers := map[string]bool{}
	for _, key := range []string{"first", "final", "restart"} {
		w := serve(h, testID, key, updateBody(testID, `{"n": 1}`))
		answers[w.Body.String()] = true
		resp, err := payload.DecodeResponse(w.Body)
		if w.Code != 200 || err != nil || resp.NextUpdate < 54*time.Minute || resp.NextUpdate > 66*time.Minute {
			t.Fatalf("update %q: %d next_update %v, want 200 within 1h ±10 %%", key, w.Code, resp.NextUpdate)
		}
	}
	if len(answers) < 2 {
		t.Error("next_update was not spread")
	}
	if w := serve(h, testID, "final", updateBody(testID, `{"n": 1}`)); w.Code != 200 {
		t.Errorf("a repeat of an accepted key got %d, want its stored answer", w.Code)
	}
	w := serve(h, testID, "fourth", updateBody(testID, `{"n": 1}`))
	resp, _ := payload.DecodeResponse(w.Body)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || resp.NextUpdate < 25*time.Minute {
		t.Errorf("a third early update in a row: %d Retry-After %q next_update %v, want 429 for about half the interval",
			w.Code, w.Header().Get("Retry-After"), resp.NextUpdate)
	}
	if n := len(sink.AllMetrics()); n != 3 {
		t.Errorf("consumed %d updates, want 3", n)
	}
	other := uuid.New()
	if w := serve(h, other, "", updateBody(other, `{"n": 1}`)); w.Code != 200 {
		t.Errorf("another instance: %d", w.Code)
	}
}

func TestHostileBodiesGetTheSharedLimits(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	h := newHandler(t, testConfig(), sink)
	for name, tc := range map[string]struct {
		data   string
		status int
		says   string
	}{
		"number beyond float64": {`{"a": 1e999999}`, 400, "float64"},
		"1 MiB key":             {`{"` + strings.Repeat("k", 1<<20) + `": 1}`, 400, "name is too long"},
		"1 MiB attribute name":  {`{"a": [{"attributes": {"` + strings.Repeat("k", 1<<20) + `": "x"}, "value": 1}]}`, 400, "name is too long"},
		"3.9 million values":    {`{"a": [` + strings.Repeat("1,", 3_900_000) + `1]}`, 413, "JSON values"},
	} {
		w := serve(h, testID, "", updateBody(testID, tc.data))
		resp, _ := payload.DecodeResponse(w.Body)
		if w.Code != tc.status || !strings.Contains(resp.Error, tc.says) {
			t.Errorf("%s: %d %.200q, want %d saying %q", name, w.Code, resp.Error, tc.status, tc.says)
		}
	}
	if n := sink.DataPointCount(); n != 0 {
		t.Errorf("%d points of hostile bodies reached the pipeline", n)
	}
}

func TestOneServiceInstanceIDWhateverTheSpelling(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	h := newHandler(t, testConfig(), sink)
	s := testID.String()
	for _, sp := range []string{s, strings.ToUpper(s), "urn:uuid:" + s, "{" + s + "}", strings.ReplaceAll(s, "-", "")} {
		body := []byte(`{"instance_id":"` + sp + `","timestamp":"2026-11-25T10:00:00Z","data":{"n":1}}`)
		if w := serve(h, testID, "", body); w.Code != 200 {
			t.Errorf("instance_id %q: %d %s", sp, w.Code, w.Body)
		}
		req := httptest.NewRequest(http.MethodPost, DefaultPath+sp, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if sp != s && w.Code != http.StatusBadRequest {
			t.Errorf("path spelled %q: %d, want 400", sp, w.Code)
		}
	}
	ids := map[string]bool{}
	for _, md := range sink.AllMetrics() {
		v, _ := md.ResourceMetrics().At(0).Resource().Attributes().Get(AttrInstanceID)
		ids[v.Str()] = true
	}
	if len(ids) != 1 || !ids[s] {
		t.Errorf("%s values %v, want only %q", AttrInstanceID, ids, s)
	}
}

func TestTwoDataMembersBothReachThePipeline(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	h := newHandler(t, testConfig(), sink)
	body := []byte(`{"instance_id":"` + testID.String() + `","timestamp":"2026-11-25T10:00:00Z","data":{"a":1},"data":{"b":2}}`)
	if w := serve(h, testID, "", body); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if a, b := sumOf(sink, "a"), sumOf(sink, "b"); a != 1 || b != 2 {
		t.Errorf("a = %d, b = %d, want 1 and 2 (encoding/json merges two data members)", a, b)
	}
}

// keySink records the Idempotency-Key each update carried into the
// pipeline, as client metadata.
type keySink struct {
	consumertest.MetricsSink
	mu   sync.Mutex
	keys [][]string
}

func (s *keySink) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	s.mu.Lock()
	s.keys = append(s.keys, client.FromContext(ctx).Metadata.Get(payload.HeaderIdempotencyKey))
	s.mu.Unlock()
	return s.MetricsSink.ConsumeMetrics(ctx, md)
}

// A processor after a restart (its receiver's window gone) still knows an
// update by its key: the key travels with the data.
func TestUpdateKeyReachesThePipelineAsMetadata(t *testing.T) {
	sink := new(keySink)
	h := newHandler(t, testConfig(), sink)
	serve(h, testID, "u1", updateBody(testID, `{"n": 1}`))
	serve(h, testID, "", updateBody(testID, `{"n": 1}`))
	if len(sink.keys) != 2 || len(sink.keys[0]) != 1 || sink.keys[0][0] != "u1" || sink.keys[1] != nil {
		t.Errorf("keys in the pipeline %q, want [[u1] []]", sink.keys)
	}
}
