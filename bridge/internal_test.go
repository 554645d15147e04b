package bridge

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// A key the server disables is let go at the next update, and not kept
// again while disabled.
func TestServerDisabledKeysAreNotHeld(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour, DisableKeys: []string{"secret"}}))
	b, r := newBridgeTo(t, s)
	held := func(key string) bool { _, ok := b.entries.load(key); return ok }

	b.Set("secret", "x")
	b.Increment("secret:1")
	if !held("secret") || !held("secret:1") {
		t.Fatal("keys not held before the server disabled them")
	}
	if err := r.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The answer disabled the keys; the next collection lets them go.
	if err := r.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.Set("secret", "y")
	b.Increment("secret:2")
	for _, k := range []string{"secret", "secret:1", "secret:2"} {
		if held(k) {
			t.Errorf("disabled key %q is held", k)
		}
	}
}

// A key found by the address of its bytes leads to its live entry only:
// after the key changes kind, the slot moves to the new entry, and a key
// with equal text at another address still reaches the same entry.
func TestRecentEntriesFollowReplacement(t *testing.T) {
	s := servertest.New(t)
	b, _ := newBridgeTo(t, s, exporter.WithRuntimeFigures(false))
	const key = "requests"
	slot := &b.recent[recentSlot(key)]

	b.Increment(key)
	b.entries.prune(func(string, *entry) bool { return false }) // into the snapshot
	b.Increment(key)
	first := slot.Load()
	if first == nil || first.key != key || first.kind != kindCounter {
		t.Fatalf("the slot of a literal key holds %+v after two calls, want its counter entry", first)
	}

	b.Set(key, "now a value") // replaces the counter entry
	b.entries.prune(func(string, *entry) bool { return false })
	b.Set(key, "again")
	if !first.retired.Load() {
		t.Fatal("the counter entry was not retired by Set")
	}
	if e := b.liveEntry(key); e == nil || e == first || e.kind != kindValue {
		t.Fatalf("liveEntry after replacement = %+v, want the new value entry", e)
	}
	if slot.Load() == first {
		t.Error("the slot still holds the retired entry")
	}

	built := string([]byte(key)) // same text, other bytes
	if e := b.liveEntry(built); e == nil || e.kind != kindValue {
		t.Fatalf("a key built at run time found %+v, want the value entry", e)
	}
}

// What a counting set keeps of a value seen for the first time is its own
// copy: a string the caller made for one call is not held for good.
func TestFirstSightingsKeepTheirOwnCopy(t *testing.T) {
	s := servertest.New(t)
	b, _ := newBridgeTo(t, s, exporter.WithRuntimeFigures(false))
	member := string([]byte("3fa2c1b0"))
	b.AppendUnique("agents", member)
	e, _ := b.entries.load("agents")
	e.set.strings.mu.Lock()
	keys := 0
	for _, m := range []map[string]*setValue{*e.set.strings.read.Load(), e.set.strings.dirty} {
		for k := range m {
			keys++
			if sameBytes(k, member) {
				t.Error("the set member holds the caller's string")
			}
		}
	}
	e.set.strings.mu.Unlock()
	if keys != 1 {
		t.Fatalf("the set has %d members, want 1", keys)
	}
}

// A call that found a counter just before it was evicted still adds to
// its tally; the count is sent, by the old entry's series, at the next
// collection, and the series is let go only after the interval has ended.
func TestAnAddToAnEvictedTallyIsSent(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r := newBridgeTo(t, s, exporter.WithSpool(t.TempDir()), exporter.WithRuntimeFigures(false))
	b.evictionGrace = 0 // freed as soon as the rest allows
	ctx := context.Background()
	b.Increment("hits")
	found, _ := b.entries.load("hits") // what a call in flight holds
	if err := r.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.evict(found) // as sweep does for an idle key
	b.mu.Unlock()
	found.counter.add(5) // the call in flight makes its add after the eviction
	if err := r.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if got := reqs[len(reqs)-1].Payload(t).Data["hits"]; got != float64(5) {
		t.Fatalf("the late add sent %v, want 5", got)
	}
	if n := evictedSeries(b); n != 1 {
		t.Errorf("%d evicted series kept before the update that took the late add is committed, want 1", n)
	}
	if err := r.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := evictedSeries(b); n != 0 {
		t.Errorf("%d evicted series kept once their interval ended and was committed", n)
	}
}

// A key evicted while a call still adds to it, and counted anew by later
// calls, is one point in the update: the telemetry server gets the key's
// number, not a list of two points with the same attributes.
func TestAnEvictedKeyAndItsSuccessorAreOnePoint(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r := newBridgeTo(t, s, exporter.WithSpool(t.TempDir()), exporter.WithRuntimeFigures(false))
	b.Increment("hits")
	b.AppendUnique("agents", "a")
	found, _ := b.entries.load("hits")
	set, _ := b.entries.load("agents")
	b.mu.Lock()
	b.evict(found)
	b.evict(set)
	b.mu.Unlock()
	b.Increment("hits") // a new entry
	b.Increment("hits")
	b.AppendUnique("agents", "a")
	found.counter.add(5) // a call in flight on the evicted entry
	if err := r.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	data := reqs[len(reqs)-1].Payload(t).Data
	if got := data["hits"]; got != float64(8) {
		t.Errorf("hits = %v, want 8 (6 on the evicted entry, 2 on the new one)", got)
	}
	if got := fmt.Sprint(data["agents"]); got != "[map[count:2 value:a]]" {
		t.Errorf("agents = %v, want one member a counted twice", got)
	}
}

// A key evicted twice: a late count on the first evicted entry goes to
// the series that took the key over, so that series stays until the first
// is gone, even when it could be freed sooner.
func TestALateCountOnAnOldEntryReachesItsHeir(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r := newBridgeTo(t, s, exporter.WithSpool(t.TempDir()), exporter.WithRuntimeFigures(false))
	b.evictionGrace = 0 // so that only the predecessor rule keeps the heir
	ctx := context.Background()
	flush := func() {
		t.Helper()
		if err := r.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	evict := func(key string) *entry {
		e, _ := b.entries.load(key)
		b.mu.Lock()
		b.evict(e)
		b.mu.Unlock()
		return e
	}
	b.Increment("hits")
	flush()
	first := evict("hits")
	b.Increment("hits") // the successor, evicted in the same interval
	evict("hits")
	flush()
	first.counter.add(5) // a call that found the first entry, late
	flush()
	flush()
	sent := 0
	for _, req := range s.Requests() {
		if v, ok := req.Payload(t).Data["hits"].(float64); ok {
			sent += int(v)
		}
	}
	if sent != 7 {
		t.Errorf("the updates sent %d hits in all, want 7 (1, 1 and the late 5)", sent)
	}
}

// Another reader that collects less often than the telemetry server asks
// for updates still gets every count: evicted series wait for it. One that
// stopped collecting holds nothing back for long: once it stalled, or
// once more than maxWaiting series wait for it, they are let go, oldest
// first.
func TestEvictedSeriesWaitForASlowReaderButNotForEver(t *testing.T) {
	for _, stop := range []string{"stalls", "too many wait"} {
		t.Run(stop, func(t *testing.T) {
			s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
			b, r, other := withOther(t, s)
			b.evictionGrace = 0
			points(t, other, "agents") // it collected once, before the counts
			for i := range 100 {
				b.AppendUnique("agents", strconv.Itoa(i))
			}
			flushes(t, r, stalledAfter+2) // idle members are evicted meanwhile
			if n := evictedSeries(b); n != 100 {
				t.Fatalf("%d evicted members kept for the reader that has not collected yet, want 100", n)
			}
			want := 0
			if stop == "stalls" {
				b.producers[1].reported.at.Store(time.Now().Add(-stalledAfterTime - time.Second).UnixNano())
			} else {
				b.maxWaiting, want = 40, 40
			}
			flushes(t, r, 1)
			if n := evictedSeries(b); n != want {
				t.Errorf("%d evicted members kept, want %d", n, want)
			}
		})
	}
}

// An entry that a call has just made, and not yet counted, is not idle:
// a sweep between the two must not evict it (its first count would go to
// a retired entry, and the next call would make a second one).
func TestASweepKeepsAnEntryNotYetCounted(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r := newBridgeTo(t, s, exporter.WithRuntimeFigures(false))
	ctx := context.Background()
	for range 2 { // a later interval: a stamp of 0 would read as idle
		if err := r.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	e := b.lookup("new", kindCounter, false) // made, not yet admitted
	if err := r.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if e.retired.Load() {
		t.Error("the sweep evicted an entry made in the interval it ended")
	}
}

// evictedSeries counts the evicted series the bridge still drains.
func evictedSeries(b *Bridge) int {
	b.hand.mu.Lock()
	defer b.hand.mu.Unlock()
	n := 0
	for _, s := range b.hand.all {
		if s.evicted.Load() != 0 {
			n++
		}
	}
	return n
}

// newBridgeTo returns a bridge reporting to s and its telemetry Reader,
// shut down when the test ends.
func newBridgeTo(t *testing.T, s *servertest.Server, opts ...exporter.Option) (*Bridge, *exporter.Reader) {
	t.Helper()
	exp, err := exporter.New(append([]exporter.Option{exporter.WithEndpoint(s.Endpoint()), exporter.WithInstanceID(uuid.New())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	b, r, err := throughExporter(exp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
	return b, r
}
