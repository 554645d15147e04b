package exporter_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

// keyedServer answers with answer(update, key) and counts what it took
// (2xx answers), once per key.
type keyedServer struct {
	answer func(p payload.Payload, key string) int

	mu       sync.Mutex
	requests int
	counted  map[string]int // per key of data, over the updates taken
	taken    map[string]bool
	keys     []string
}

func newKeyedServer(answer func(payload.Payload, string) int) *keyedServer {
	return &keyedServer{answer: answer, counted: map[string]int{}, taken: map[string]bool{}}
}

func (s *keyedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get(payload.HeaderIdempotencyKey)
	p, err := payload.DecodePayload(bytes.NewReader(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.keys = append(s.keys, key)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	code := s.answer(p, key)
	if code < 300 && !s.taken[key] {
		s.taken[key] = true
		for k := range p.Data {
			s.counted[k] += p.Int(k)
		}
	}
	w.WriteHeader(code)
}

func (s *keyedServer) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counted[key]
}

// One update the server refuses for good does not spoil the others: it is
// dropped, counted, and never sent again; the updates around it arrive.
func TestRefusedUpdateAmongGoodOnes(t *testing.T) {
	srv := newKeyedServer(func(p payload.Payload, _ string) int {
		if _, poisoned := p.Data["poison"]; poisoned {
			return http.StatusUnprocessableEntity
		}
		return http.StatusNoContent
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	exp := newExporterTo(t, ts.URL+"/v1/update/", fastRetry(3))
	ctx := context.Background()
	if err := exp.Export(ctx, collection(sum("count", pt(1)))); err != nil {
		t.Fatal(err)
	}
	err := exp.Export(ctx, collection(sum("count", pt(10)), sum("poison", pt(1))))
	mustContain(t, err, "422", "2 items are dropped")
	for range 3 {
		if err := exp.Export(ctx, collection(sum("count", pt(2)))); err != nil {
			t.Fatalf("an update after the refused one failed: %v", err)
		}
	}
	if got := srv.count("count"); got != 1+3*2 {
		t.Errorf("the server counted %d, want 7 (the refused 10 dropped)", got)
	}
	if got := srv.count(payload.KeyDropped); got != 2 {
		t.Errorf("telemetry.dropped_items came to %d, want the refused update's 2 items", got)
	}
	if srv.requests != 5 {
		t.Errorf("%d requests, want 5: the refused update goes once", srv.requests)
	}
}

// A server that answers 409 (the key is being handled) for hours keeps
// the update pending: every send tries it a bounded number of times,
// newer figures wait behind it, and once the server takes it each figure
// is counted once.
func TestConflictForeverKeepsTheUpdatePendingWithoutLosingFigures(t *testing.T) {
	var mu sync.Mutex
	conflict := true
	srv := newKeyedServer(func(payload.Payload, string) int {
		mu.Lock()
		defer mu.Unlock()
		if conflict {
			return http.StatusConflict
		}
		return http.StatusNoContent
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	exp := newExporterTo(t, ts.URL+"/v1/update/", fastRetry(3))
	ctx := context.Background()
	for i := range 5 {
		if err := exp.Export(ctx, collection(sum("count", pt(int64(i+1))))); err == nil {
			t.Fatal("an update was delivered to a server answering 409")
		}
	}
	srv.mu.Lock()
	if srv.requests != 5*3 || len(uniq(srv.keys)) != 1 {
		t.Errorf("%d requests with %d keys, want 15 with one: the first update, pending, went 3 times per send", srv.requests, len(uniq(srv.keys)))
	}
	srv.mu.Unlock()
	mu.Lock()
	conflict = false
	mu.Unlock()
	if err := exp.Export(ctx, collection(sum("count", pt(100)))); err != nil {
		t.Fatal(err)
	}
	if got := srv.count("count"); got != 1+2+3+4+5+100 {
		t.Errorf("the server counted %d, want 115", got)
	}
}

func uniq(keys []string) map[string]bool {
	out := map[string]bool{}
	for _, k := range keys {
		out[k] = true
	}
	return out
}

// A Retry-After beyond the retry time is not waited out within one send:
// the update stays pending for the next, and Export returns at once.
func TestExtremeRetryAfterDoesNotHoldTheSend(t *testing.T) {
	for _, ra := range []string{"999999999999", "86400", time.Now().Add(48 * time.Hour).UTC().Format(http.TimeFormat)} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", ra)
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		exp := newExporterTo(t, ts.URL+"/v1/update/", exporter.WithRetry(exporter.DefaultRetry()))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		err := exp.Export(ctx, collection(sum("count", pt(1))))
		cancel()
		ts.Close()
		mustContain(t, err, "would pass the retry time")
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Retry-After %s held Export for %v", ra, took)
		}
	}
}

// When the update file of a process now gone cannot be copied as the
// claimer's own (here a directory stands where it goes), none of that
// process's files is taken: they stay, locked while the claimer lives, and
// the next process sends the update with its original key.
func TestClaimedUpdateThatCannotBeSavedStaysForTheNextProcess(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	srv := newKeyedServer(func(payload.Payload, string) int { return http.StatusServiceUnavailable })
	ts := httptest.NewServer(srv)
	defer ts.Close()
	gone := newExporterTo(t, ts.URL+"/v1/update/", fastRetry(1), exporter.WithSpool(dir))
	_ = gone.Export(ctx, collection(sum("count", pt(7))))
	_ = gone.Shutdown(ctx)
	srv.mu.Lock()
	firstKey := srv.keys[0]
	srv.answer = func(payload.Payload, string) int { return http.StatusNoContent }
	srv.mu.Unlock()
	orphans := figureFiles(t, dir)
	if len(orphans) != 1 || !strings.HasPrefix(orphans[0], "update-") {
		t.Fatalf("spool holds %v, want the pending update's file", orphans)
	}

	var seen problems
	claimer := newExporterTo(t, ts.URL+"/v1/update/", exporter.WithSpool(dir), seen.option())
	blockFirstUpdateFile(t, dir, orphans[0])
	if err := claimer.Export(ctx, collection(sum("count", pt(1)))); err != nil {
		t.Fatal(err)
	}
	if got := srv.count("count"); got != 1 {
		t.Errorf("while the claim could not be saved the server counted %d, want the claimer's own 1", got)
	}
	if _, err := os.Stat(filepath.Join(instanceDir(dir), orphans[0])); err != nil {
		t.Errorf("the orphan's update file was deleted: %v", err)
	}
	_ = claimer.Shutdown(ctx)

	next := newExporterTo(t, ts.URL+"/v1/update/", exporter.WithSpool(dir))
	if err := next.Export(ctx, collection()); err != nil {
		t.Fatal(err)
	}
	_ = next.Shutdown(ctx)
	if got := srv.count("count"); got != 8 {
		t.Errorf("the server counted %d, want 8", got)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	resent := 0
	for _, k := range srv.keys {
		if k == firstKey {
			resent++
		}
	}
	if resent != 2 {
		t.Errorf("the orphan's key went %d times, want twice (its first attempt, then by the next process)", resent)
	}
}

// blockFirstUpdateFile puts a directory where the live exporter (not the
// owner of orphan) writes its first update file, so that writing it fails.
func blockFirstUpdateFile(t *testing.T, dir, orphan string) {
	t.Helper()
	token := liveOwner(t, dir, func(token string) bool { return strings.HasPrefix(orphan, "update-"+token+"-") })
	blockFile(t, dir, "update-"+token+"-1.json")
}

// An update file written before updates had keys is sent again under a
// fresh key, the same one on every attempt.
func TestUpdateFileWithoutAKeyGetsOne(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, "update-older-1.json", spoolText(map[string]string{"planted": "4"}))
	answers := 0
	srv := newKeyedServer(func(p payload.Payload, _ string) int {
		if _, ok := p.Data["planted"]; ok {
			answers++
			if answers == 1 {
				return http.StatusBadGateway
			}
		}
		return http.StatusNoContent
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	exp := newExporterTo(t, ts.URL+"/v1/update/", fastRetry(2), exporter.WithSpool(dir))
	defer func() { _ = exp.Shutdown(context.Background()) }()
	if err := exp.Export(context.Background(), collection(sum("count", pt(1)))); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.keys) != 3 || srv.keys[0] == "" || srv.keys[1] != srv.keys[0] || srv.keys[2] == srv.keys[0] {
		t.Errorf("keys %q: want the planted update's fresh key twice, then the host's own", srv.keys)
	}
	if srv.counted["planted"] != 4 || srv.counted["count"] != 1 {
		t.Errorf("the server counted %v", srv.counted)
	}
}

// An update file of a process now gone that holds only runtime figures
// (its process started an update before recording anything) is not sent
// again: twice means nothing, and the figures are stale. It is deleted
// with the claim.
func TestUpdateOfRuntimeFiguresOnlyIsNotSentAgain(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, "update-older-1.json", spoolText(map[string]string{payload.KeyGoroutines: "12"}))
	srv := newKeyedServer(func(payload.Payload, string) int { return http.StatusNoContent })
	ts := httptest.NewServer(srv)
	defer ts.Close()
	exp := newExporterTo(t, ts.URL+"/v1/update/", exporter.WithSpool(dir))
	if err := exp.Export(context.Background(), collection(sum("count", pt(1)))); err != nil {
		t.Fatal(err)
	}
	_ = exp.Shutdown(context.Background())
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.requests != 1 || srv.counted[payload.KeyGoroutines] != 0 || srv.counted["count"] != 1 {
		t.Errorf("%d requests, counted %v; want the host's own update alone", srv.requests, srv.counted)
	}
	if files := figureFiles(t, dir); len(files) != 0 {
		t.Errorf("spool holds %v after the claim", files)
	}
}

// A server that refuses every update (400) does not stop later ones from
// going (each goes once, under a key of its own); each refusal reports
// its own items once, and telemetry.dropped_items, carried from refusal
// to refusal, reaches the server whole once an update is taken.
func TestRefusalsInARowCountEachItemOnce(t *testing.T) {
	var mu sync.Mutex
	refuse := true
	srv := newKeyedServer(func(payload.Payload, string) int {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return http.StatusBadRequest
		}
		return http.StatusNoContent
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	exp := newExporterTo(t, ts.URL+"/v1/update/", exporter.WithSpool(t.TempDir()))
	ctx := context.Background()
	for i := range 6 {
		err := exp.Export(ctx, collection(sum("count", pt(int64(i+1))), sum("other", pt(1))))
		mustContain(t, err, "400", "its 2 items are dropped")
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	if err := exp.Export(ctx, collection(sum("count", pt(100)))); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.requests != 7 || len(uniq(srv.keys)) != 7 {
		t.Errorf("%d requests under %d keys, want 7 under 7", srv.requests, len(uniq(srv.keys)))
	}
	if srv.counted[payload.KeyDropped] != 12 || srv.counted["count"] != 100 {
		t.Errorf("the server counted %v, want 12 dropped items and a count of 100", srv.counted)
	}
}
