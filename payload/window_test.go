package payload_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func keyed(key string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/v1/update/x", nil)
	if key != "" {
		req.Header.Set(payload.HeaderIdempotencyKey, key)
	}
	return req
}

// serveOnce runs one request through w: when it proceeds, process
// decides the answer. It returns the recorded answer and whether process
// ran.
func serveOnce(w *payload.Window, id uuid.UUID, key string, process func() (int, payload.Response)) (*httptest.ResponseRecorder, bool) {
	rec := httptest.NewRecorder()
	claim, ok := w.Begin(rec, keyed(key), id)
	if !ok {
		return rec, false
	}
	defer claim.Release()
	status, resp := process()
	if status != 0 {
		claim.Answer(rec, status, resp)
	}
	return rec, true
}

func answerWith(next time.Duration) func() (int, payload.Response) {
	return func() (int, payload.Response) { return http.StatusOK, payload.Response{NextUpdate: next} }
}

func TestAcceptedKeyGetsItsStoredAnswer(t *testing.T) {
	w := payload.NewWindow(payload.WindowConfig{})
	id := uuid.New()
	first, ran := serveOnce(w, id, "k1", answerWith(time.Hour))
	if !ran || first.Code != http.StatusOK {
		t.Fatalf("first request: ran %v, status %d", ran, first.Code)
	}
	again, ran := serveOnce(w, id, "k1", answerWith(time.Minute))
	if ran || again.Code != http.StatusOK || again.Body.String() != first.Body.String() || again.Header().Get("Content-Type") != "application/json" {
		t.Errorf("repeat: ran %v, %d %q, want the stored answer %q", ran, again.Code, again.Body, first.Body)
	}
	if _, ran := serveOnce(w, uuid.New(), "k1", answerWith(time.Hour)); !ran {
		t.Error("another instance's equal key was taken for a repeat")
	}
	if _, ran := serveOnce(w, id, "k2", answerWith(time.Hour)); !ran {
		t.Error("another key was taken for a repeat")
	}
	for range 2 { // without the header, every request is processed
		if _, ran := serveOnce(w, id, "", answerWith(time.Hour)); !ran {
			t.Error("a request without a key was not processed")
		}
	}
}

func TestFailedProcessingForgetsTheKey(t *testing.T) {
	w := payload.NewWindow(payload.WindowConfig{})
	id := uuid.New()
	refused := func() (int, payload.Response) { return http.StatusServiceUnavailable, payload.Response{Error: "full"} }
	if _, ran := serveOnce(w, id, "k", refused); !ran {
		t.Fatal("not processed")
	}
	panicked := func() (int, payload.Response) { return 0, payload.Response{} } // no answer: Release alone
	if _, ran := serveOnce(w, id, "k", panicked); !ran {
		t.Fatal("a retry after a refusal was not processed")
	}
	if rec, ran := serveOnce(w, id, "k", answerWith(time.Hour)); !ran || rec.Code != 200 {
		t.Fatalf("a retry after a failure: ran %v, %d", ran, rec.Code)
	}
	if _, ran := serveOnce(w, id, "k", answerWith(time.Hour)); ran {
		t.Error("accepted after the retries, then processed again")
	}
	if w.Len() != 1 {
		t.Errorf("window holds %d keys, want 1", w.Len())
	}
}

func TestKeyInFlightGets409(t *testing.T) {
	w := payload.NewWindow(payload.WindowConfig{})
	id := uuid.New()
	rec := httptest.NewRecorder()
	claim, ok := w.Begin(rec, keyed("k"), id)
	if !ok {
		t.Fatal("first request not processed")
	}
	busy, ran := serveOnce(w, id, "k", answerWith(time.Hour))
	if ran || busy.Code != http.StatusConflict || busy.Header().Get("Retry-After") == "" || !strings.Contains(busy.Body.String(), "same key") {
		t.Errorf("same key in flight: ran %v, %d %q Retry-After %q", ran, busy.Code, busy.Body, busy.Header().Get("Retry-After"))
	}
	claim.Answer(rec, http.StatusOK, payload.Response{NextUpdate: time.Hour})
	if again, ran := serveOnce(w, id, "k", answerWith(time.Hour)); ran || again.Body.String() != rec.Body.String() {
		t.Errorf("after the first was accepted: ran %v %q", ran, again.Body)
	}
}

func TestConcurrentRequestsWithOneKeyAreProcessedOnce(t *testing.T) {
	w := payload.NewWindow(payload.WindowConfig{})
	id := uuid.New()
	var processed, conflicts, replays atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			rec, ran := serveOnce(w, id, "same", func() (int, payload.Response) {
				processed.Add(1)
				time.Sleep(5 * time.Millisecond)
				return http.StatusOK, payload.Response{NextUpdate: time.Hour}
			})
			switch {
			case ran:
			case rec.Code == http.StatusConflict:
				conflicts.Add(1)
			case rec.Code == http.StatusOK:
				replays.Add(1)
			default:
				t.Errorf("unexpected answer %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if processed.Load() != 1 || conflicts.Load()+replays.Load() != 63 {
		t.Errorf("processed %d, 409 %d, replayed %d: want 1 processed", processed.Load(), conflicts.Load(), replays.Load())
	}
}

func TestWindowForgetsByAgeAndCount(t *testing.T) {
	clock := newFakeClock()
	w := payload.NewWindow(payload.WindowConfig{MaxKeys: 3, MaxAge: time.Hour, Clock: clock.Now})
	id := uuid.New()
	serveOnce(w, id, "old", answerWith(time.Hour))
	clock.Advance(59 * time.Minute)
	if _, ran := serveOnce(w, id, "old", answerWith(time.Hour)); ran {
		t.Error("a key within its hour was processed again")
	}
	clock.Advance(2 * time.Minute)
	if _, ran := serveOnce(w, id, "old", answerWith(time.Hour)); !ran {
		t.Error("a key past the window's age was not processed again")
	}
	for _, k := range []string{"a", "b", "c"} {
		serveOnce(w, id, k, answerWith(time.Hour))
	}
	if _, ran := serveOnce(w, id, "old", answerWith(time.Hour)); !ran {
		t.Error("the oldest key was kept past the window's count")
	}
	if _, ran := serveOnce(w, id, "c", answerWith(time.Hour)); ran {
		t.Error("a recent key was forgotten")
	}
	if w.Len() != 3 {
		t.Errorf("window holds %d keys, want its bound of 3", w.Len())
	}
}

func TestOverlongKeyIsRefused(t *testing.T) {
	w := payload.NewWindow(payload.WindowConfig{})
	rec, ran := serveOnce(w, uuid.New(), strings.Repeat("k", payload.MaxIdempotencyKeyBytes+1), answerWith(time.Hour))
	if ran || rec.Code != http.StatusBadRequest || w.Len() != 0 {
		t.Errorf("overlong key: ran %v, %d, %d keys held", ran, rec.Code, w.Len())
	}
	if _, ran := serveOnce(w, uuid.New(), strings.Repeat("k", payload.MaxIdempotencyKeyBytes), answerWith(time.Hour)); !ran {
		t.Error("a key at the limit was refused")
	}
}

func heapAfterGC() uint64 { return servertest.HeapAfterGC() }

var keySeq atomic.Int64

// accept runs n distinct keys, each a UUID as a client makes them, with
// an answer of the usual size.
func accept(w *payload.Window, ids []uuid.UUID, n int) {
	resp := payload.Response{NextUpdate: 3599 * time.Second}
	rec := httptest.NewRecorder()
	req := keyed("")
	for i := range n {
		// 36 bytes, as a UUID; distinct across calls.
		req.Header.Set(payload.HeaderIdempotencyKey, fmt.Sprintf("%036d", keySeq.Add(1)))
		if claim, ok := w.Begin(rec, req, ids[i%len(ids)]); ok {
			claim.Answer(rec, http.StatusOK, resp)
		}
		rec.Body.Reset()
	}
}

// TestWindowMemoryIsBounded measures the bytes per remembered key and
// checks that a million distinct keys stay within the count bound.
func TestWindowMemoryIsBounded(t *testing.T) {
	maxKeys, distinct := payload.DefaultWindowKeys, 1_000_000
	if raceEnabled { // smaller, and still three times the window
		maxKeys, distinct = 50_000, 150_000
	}
	ids := make([]uuid.UUID, 10_000)
	for i := range ids {
		ids[i] = uuid.New()
	}
	before := heapAfterGC()
	w := payload.NewWindow(payload.WindowConfig{MaxKeys: maxKeys})
	accept(w, ids, maxKeys)
	full := heapAfterGC()
	perKey := float64(full-before) / float64(maxKeys)
	accept(w, ids, distinct)
	after := heapAfterGC()
	runtime.KeepAlive(w)
	t.Logf("window of %d keys: %.0f bytes per key; after %d distinct keys %.1f MiB (full window %.1f MiB)",
		maxKeys, perKey, distinct, float64(after-before)/(1<<20), float64(full-before)/(1<<20))
	if w.Len() != maxKeys {
		t.Errorf("window holds %d keys, want %d", w.Len(), maxKeys)
	}
	if perKey > 400 {
		t.Errorf("%.0f bytes per key, over the 400 the defaults are stated with", perKey)
	}
	if after > before+2*(full-before)+(8<<20) {
		t.Errorf("heap grew to %d bytes after a million keys, a full window is %d", after-before, full-before)
	}
}

func ExampleWindow() {
	w := payload.NewWindow(payload.WindowConfig{})
	id := uuid.New()
	for range 2 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/v1/update/"+id.String(), nil)
		req.Header.Set(payload.HeaderIdempotencyKey, "update-1")
		claim, ok := w.Begin(rec, req, id)
		if !ok {
			fmt.Println("repeat answered:", rec.Code, rec.Body)
			continue
		}
		// ... take the update's data, then:
		claim.Answer(rec, http.StatusOK, payload.Response{NextUpdate: time.Hour})
		claim.Release()
		fmt.Println("processed:", rec.Code, rec.Body)
	}
	// Output:
	// processed: 200 {"next_update":3600000000000}
	// repeat answered: 200 {"next_update":3600000000000}
}

// TestLongAnswersCostNoMoreMemory checks that a long answer (a server that
// disables many keys) is not copied into every remembered key.
func TestLongAnswersCostNoMoreMemory(t *testing.T) {
	// Every answer is written, 25 KB each: a few thousand keys tell a
	// copied answer (25 KB per key) from a shared one (some 300 bytes)
	// well above the heap's noise.
	const keys, bound = 2_000, 2_000
	disable := make([]string, 1000)
	for i := range disable {
		disable[i] = fmt.Sprintf("some_disabled_key_%d", i)
	}
	resp := payload.Response{NextUpdate: time.Hour, DisableKeys: disable} // about 25 KB of JSON
	before := heapAfterGC()
	w := payload.NewWindow(payload.WindowConfig{MaxKeys: keys})
	rec := httptest.NewRecorder()
	req := keyed("")
	id := uuid.New()
	for i := range keys {
		req.Header.Set(payload.HeaderIdempotencyKey, fmt.Sprintf("%036d", i))
		if claim, ok := w.Begin(rec, req, id); ok {
			claim.Answer(rec, http.StatusOK, resp)
		}
		rec.Body.Reset()
	}
	perKey := float64(heapAfterGC()-before) / keys
	runtime.KeepAlive(w)
	t.Logf("%.0f bytes per key with an answer of %d bytes", perKey, len(payload.AppendResponse(nil, resp)))
	if perKey > bound {
		t.Errorf("%.0f bytes per key, over %d: the answer is copied into each", perKey, bound)
	}
	again := httptest.NewRecorder()
	req.Header.Set(payload.HeaderIdempotencyKey, fmt.Sprintf("%036d", 7))
	if _, ok := w.Begin(again, req, id); ok || again.Body.String() != string(payload.AppendResponse(nil, resp)) {
		t.Errorf("the repeat's answer differs from the first")
	}
}
