package bridge

// Review tests that failed at b401413 and pass since the fixes that
// followed: a member made in a set being evicted, and held values kept
// without bound for a reader that does not collect. They use the helpers
// of series_hostile_test.go and series_review_test.go (evictKey).

import (
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// A call of AppendUnique that found the set's entry just before the sweep
// evicted it, and then meets a value the set has not seen, makes that
// member in the retired entry's set, after evict walked the members: the
// member's series is never marked evicted, so it is never let go, and
// once the key is made anew (a new entry, a new member for the same
// value) every reader gets two points of one stream in a collection.
func TestReviewMemberMadeInAnEvictedSet(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r, cum, delta := withReaders(t, s)
	b.evictionGrace = 0 // so that only a missing eviction keeps a series
	b.AppendUnique("agents", "a")
	e := evictKey(b, "agents") // the call in flight holds e
	// The rest of that call, as AppendUnique does it with e: a set
	// evicted meanwhile sends it back to look the key up again.
	if v := b.setValue(e, "b"); v == errSetRetired {
		b.AppendUnique("agents", "b")
	} else if v != nil && b.intervals.admit(&v.counted) {
		v.add(1)
	}
	b.AppendUnique("agents", "b") // a later call: a new entry and member
	cums := newCumulative(t)
	var deltaB int64
	see := func() {
		rm := cums.seeBoth(cum, delta)
		for _, p := range pointsIn(rm, "agents") {
			if v, _ := p.Attributes.Value(payload.AttrValue); v.AsString() == "b" {
				deltaB += p.Value
			}
		}
	}
	see()
	for range 4 { // idle: every series of the key is evicted and let go
		flushes(t, r, 1)
		see()
	}
	b.hand.mu.Lock()
	for _, s := range b.hand.all {
		t.Errorf("series %s{%s} kept for good (evicted=%d)", s.name, s.attrs.Encoded(attribute.DefaultEncoder()), s.evicted.Load())
	}
	b.hand.mu.Unlock()
	if deltaB != 2 {
		t.Errorf("the delta reader counts b %d times, want 2", deltaB)
	}
	sent := 0
	for _, req := range s.Requests() {
		l, _ := req.Payload(t).Data["agents"].([]any)
		for _, m := range l {
			if m.(map[string]any)["value"] == "b" {
				sent += int(m.(map[string]any)["count"].(float64))
			}
		}
	}
	if sent != 2 {
		t.Errorf("the server got b %d times, want 2", sent)
	}
}

// A reader that does not collect for a while (not stalled: that takes 10
// minutes) while Reset or quick updates end interval after interval:
// the held values kept for it must still be bounded (heldFor, since
// c693ac0 had bounded only the evicted series kept for such a reader). Here 40 Resets of 3,000 Appends
// keep 120,000 elements (and their journal records, with a spool), past
// the MaxItems that bounds series; the server asks for none of them.
func TestReviewHeldValuesForAReaderThatDoesNotCollectAreBounded(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, _, other := withOther(t, s)
	collect(t, other) // it collected once, and will again within 10 minutes
	for round := range 40 {
		for i := range 3000 {
			b.Append("events", round*3000+i)
		}
		b.Set("v"+strconv.Itoa(round), round) // a key of its own each round
		b.Reset()
	}
	e, _ := b.entries.load("events")
	e.held.mu.Lock()
	n := len(e.held.list)
	e.held.mu.Unlock()
	keys := 0
	b.entries.each(func(*entry) { keys++ })
	if n > MaxItems {
		t.Errorf("%d Append elements held for the reader, want at most MaxItems (%d)", n, MaxItems)
	}
	if keys > 2 {
		t.Errorf("%d keys held after 40 intervals in which each Set key was used once, want the live ones", keys)
	}
}
