package receiver_test

import (
	"bytes"
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
	"github.com/telemetrybridge/telemetry/receiver"
)

// postKeyed posts body for id with an Idempotency-Key (none when empty).
func postKeyed(h http.Handler, id uuid.UUID, key, body string) *httptest.ResponseRecorder {
	return servertest.Post(h, "/v1/update/"+id.String(), key, []byte(body))
}

func TestRepeatedKeyIsStoredOnceAndAnsweredAlike(t *testing.T) {
	r := receiver.New()
	id := uuid.New()
	first := postKeyed(r, id, "u1", body(id, `{"n":1}`))
	again := postKeyed(r, id, "u1", body(id, `{"n":1}`))
	if first.Code != 200 || again.Code != 200 || again.Body.String() != first.Body.String() {
		t.Errorf("answers %d %q then %d %q, want the same 200", first.Code, first.Body, again.Code, again.Body)
	}
	postKeyed(r, id, "u2", body(id, `{"n":2}`))
	postKeyed(r, id, "", body(id, `{"n":3}`))
	postKeyed(r, id, "", body(id, `{"n":3}`))
	if got := r.Payloads(id); len(got) != 4 {
		t.Errorf("stored %d payloads, want 4 (u1 once, u2, two without a key)", len(got))
	}
}

func TestConcurrentSameKeyIsStoredOnce(t *testing.T) {
	var slow sync.Once
	release := make(chan struct{})
	r := receiver.New(receiver.WithOnUpdate(func(receiver.Exchange) {
		slow.Do(func() { <-release }) // the first update stays in flight
	}))
	id := uuid.New()
	var conflicts, replays atomic.Int64
	var first, others sync.WaitGroup
	first.Go(func() { postKeyed(r, id, "same", body(id, `{"n":1}`)) })
	for r.Instances() == nil { // stored, and now waiting in OnUpdate
		time.Sleep(time.Millisecond)
	}
	for range 32 {
		others.Go(func() {
			w := postKeyed(r, id, "same", body(id, `{"n":1}`))
			if w.Code == http.StatusConflict && w.Header().Get("Retry-After") != "" {
				conflicts.Add(1)
			}
		})
	}
	others.Wait() // all answered while the first is in flight
	close(release)
	first.Wait()
	if w := postKeyed(r, id, "same", body(id, `{"n":1}`)); w.Code == http.StatusOK {
		replays.Add(1)
	}
	if n := len(r.Payloads(id)); n != 1 || conflicts.Load() != 32 || replays.Load() != 1 {
		t.Errorf("stored %d, 409 with Retry-After %d of 32, replayed %d: want 1, 32, 1", n, conflicts.Load(), replays.Load())
	}
}

func TestKeyIsProcessedAgainAfterTheWindow(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := receiver.New(receiver.WithIdempotency(payload.WindowConfig{MaxAge: time.Hour, Clock: clock}))
	id := uuid.New()
	postKeyed(r, id, "k", body(id, `{"n":1}`))
	mu.Lock()
	now = now.Add(59 * time.Minute)
	mu.Unlock()
	postKeyed(r, id, "k", body(id, `{"n":1}`))
	if n := len(r.Payloads(id)); n != 1 {
		t.Fatalf("within the window: %d payloads", n)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	postKeyed(r, id, "k", body(id, `{"n":1}`))
	if n := len(r.Payloads(id)); n != 2 {
		t.Errorf("past the window's age, the repeat was not stored again: %d payloads", n)
	}
}

func TestHostileBodiesAreRefused(t *testing.T) {
	r := receiver.New()
	id := uuid.New()
	for name, tc := range map[string]struct {
		body   string
		status int
	}{
		"number beyond float64": {body(id, `{"a":1e999999}`), 400},
		"1 MiB key":             {body(id, `{"`+strings.Repeat("k", 1<<20)+`":1}`), 400},
		"1 MiB sub-key":         {body(id, `{"a":{"`+strings.Repeat("k", 1<<20)+`":1}}`), 400},
		"3.9 million values":    {body(id, `{"a":[`+strings.Repeat("1,", 3_900_000)+`1]}`), 413},
	} {
		if w := postKeyed(r, id, "", tc.body); w.Code != tc.status {
			t.Errorf("%s: %d %q, want %d", name, w.Code, w.Body.String()[:min(200, w.Body.Len())], tc.status)
		}
	}
	if len(r.Payloads(id)) != 0 {
		t.Error("a hostile body was stored")
	}
}

// TestTinyValuesDoNotRaiseTheHeap replays the attack of issue 19: ten
// 7.8 MB posts of 3.9 million tiny values raised the heap to 1 GiB.
func TestTinyValuesDoNotRaiseTheHeap(t *testing.T) {
	r := receiver.New()
	attack := []byte(`{"data":{"a":[` + strings.Repeat("1,", 3_900_000) + `1]}}`)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	posts := 10
	if raceEnabled {
		posts = 2 // one post kept 100 MB before values were bounded
	}
	for range posts {
		id := uuid.New()
		b := bytes.Replace(attack, []byte(`{"data"`), []byte(`{"instance_id":"`+id.String()+`","data"`), 1)
		req := httptest.NewRequest(http.MethodPost, "/v1/update/"+id.String(), bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("attack post: %d", w.Code)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("retained heap after %d posts of 3.9 million values: %+.1f MiB", posts, float64(grew)/(1<<20))
	if grew > 64<<20 {
		t.Errorf("retained heap grew by %d MiB", grew>>20)
	}
}

func TestOneInstanceWhateverItsSpelling(t *testing.T) {
	r := receiver.New()
	id := uuid.New()
	s := id.String()
	spellings := []string{s, strings.ToUpper(s), "urn:uuid:" + s, "{" + s + "}", strings.ReplaceAll(s, "-", "")}
	for _, sp := range spellings {
		b := `{"instance_id":"` + sp + `","timestamp":"2026-11-24T10:00:00Z","data":{"n":1}}`
		if w := postKeyed(r, id, "", b); w.Code != 200 {
			t.Errorf("instance_id %q: %d %s", sp, w.Code, w.Body)
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/update/"+sp, strings.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if sp != s && w.Code != http.StatusBadRequest {
			t.Errorf("path spelled %q: %d, want 400", sp, w.Code)
		}
	}
	if ids := r.Instances(); len(ids) != 1 {
		t.Errorf("%d instances, want 1", len(ids))
	}
	for _, p := range r.Payloads(id) {
		if p.InstanceID != s {
			t.Errorf("stored instance_id %q, want the canonical %q", p.InstanceID, s)
		}
	}
}

func TestTwoDataMembersAreStoredMerged(t *testing.T) {
	r := receiver.New()
	id := uuid.New()
	b := `{"instance_id":"` + id.String() + `","data":{"a":1,"b":1},"data":{"b":2,"c":3}}`
	if w := postKeyed(r, id, "", b); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	p := r.Payloads(id)[0]
	if p.Int("a") != 1 || p.Int("b") != 2 || p.Int("c") != 3 {
		t.Errorf("stored data %v, want a=1 b=2 c=3 as encoding/json merges them", p.Data)
	}
}

func TestScheduleSpreadsAndRefusesEarlyInstances(t *testing.T) {
	r := receiver.New(receiver.WithSchedule(payload.DefaultSchedule()), receiver.WithResponse(payload.Response{NextUpdate: time.Hour}))
	id := uuid.New()
	answers := map[string]bool{}
	for i, key := range []string{"first", "final", "restart"} {
		w := postKeyed(r, id, key, body(id, `{}`))
		answers[w.Body.String()] = true
		resp, _ := payload.DecodeResponse(w.Body)
		if w.Code != 200 || resp.NextUpdate < 54*time.Minute || resp.NextUpdate > 66*time.Minute {
			t.Fatalf("update %d: %d next_update %v, want 200 with 1h ±10 %%", i, w.Code, resp.NextUpdate)
		}
	}
	if len(answers) < 2 {
		t.Error("next_update was not spread")
	}
	if w := postKeyed(r, id, "restart", body(id, `{}`)); w.Code != 200 {
		t.Errorf("a repeat of an accepted key got %d, want its stored answer", w.Code)
	}
	w := postKeyed(r, id, "early", body(id, `{}`))
	resp, _ := payload.DecodeResponse(w.Body)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || resp.NextUpdate < 25*time.Minute {
		t.Errorf("a third early update: %d Retry-After %q next_update %v, want 429 until about half the interval", w.Code, w.Header().Get("Retry-After"), resp.NextUpdate)
	}
	if n := len(r.Payloads(id)); n != 3 {
		t.Errorf("stored %d payloads, want 3", n)
	}
}
