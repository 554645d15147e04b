package bridge

// Hostile tests of evicted series: many Resets between two collections of
// another reader, and a recording call suspended across quick updates.
// They failed at 5c9fba9 (counts lost, or counted under another key) and
// pass since evicted series are kept for evictionGrace and for readers
// that collect seldom. They use the helpers of series_hostile_test.go.

import (
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// Reset empties what the telemetry server was not sent, and "other
// readers keep their figures" (Bridge.Reset's doc). Each Reset ends an
// update interval, so a program that calls it a few times between two
// collections of another reader makes that reader stall: a key that went
// idle meanwhile is freed with counts that reader was never given.
// Nothing bounds how often a program may call Reset (or ForceFlush).
func TestHostileResetsKeepOtherReadersFigures(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, _, cum, delta := withReaders(t, s)
	b.Add("k", 3)
	b.AppendUnique("u", "a")
	for range 20 { // 4 were enough at 61e5e0a, and more than 16 at 58b0e05
		b.Reset()
	}
	rm := collect(t, cum)
	if got := total(pointsIn(rm, "k")); got != 3 {
		t.Errorf("the cumulative reader has k=%d after the Resets, want 3", got)
	}
	if got := total(pointsIn(rm, "u")); got != 1 {
		t.Errorf("the cumulative reader has u=%d after the Resets, want 1", got)
	}
	if got := total(pointsIn(collect(t, delta), "k")); got != 3 {
		t.Errorf("the delta reader's k adds up to %d after the Resets, want 3", got)
	}
}

// A call that found its counter just before the sweep evicted it, and is
// suspended until two more updates went out, loses its add: the evicted
// series is freed once the interval after its eviction ends. The package
// doc says the call "would have to be suspended ... for a whole update
// interval (a second at the least, an hour usually)", but ForceFlush and
// Reset end intervals as fast as they are called: with updates a
// millisecond apart (a loop of ForceFlush, as in
// TestHostileTelemetryExactWhileAnotherReaderCollects, which loses one
// add in about 100 runs under -race for this reason) a goroutine that is
// descheduled for a millisecond loses its count.
func TestHostileSuspendedCallAcrossQuickUpdates(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r, other := withOther(t, s) // a reader that collects at every update
	see := func() { _ = collect(t, other) }
	b.Increment("hits")
	flushes(t, r, 1)
	see()
	found, _ := b.entries.load("hits") // what a call in flight holds
	flushes(t, r, 1)                   // idle for a whole interval: evicted
	see()
	flushes(t, r, 1) // the interval of the eviction ends: freed
	see()
	found.counter.add(5) // the call in flight adds, a few milliseconds after it found its key
	flushes(t, r, 1)
	if got := sentTotal(t, s, "hits"); got != 6 {
		t.Errorf("the server got hits=%d in all, want 6 (the in-flight add of 5 lost)", got)
	}
}

// The same suspended call with a journal (a spool): the evicted count's
// record is given back once freed, and a key made after reuses it, so
// the late add is counted under that other key.
func TestHostileSuspendedCallCountsUnderAnotherKey(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r, other := withOther(t, s, exporter.WithSpool(t.TempDir()))
	see := func() { _ = collect(t, other) }
	b.Increment("hits")
	flushes(t, r, 1)
	see()
	found, _ := b.entries.load("hits")
	flushes(t, r, 1) // evicted
	see()
	flushes(t, r, 1) // freed: its record goes back to the journal
	see()
	b.Increment("newcomer") // may take the freed record
	found.counter.add(5)    // the call in flight
	flushes(t, r, 1)
	if got := sentTotal(t, s, "newcomer"); got != 1 {
		t.Errorf("the server got newcomer=%d, want 1 (the late add of hits counted under it)", got)
	}
	if got := sentTotal(t, s, "hits"); got != 6 {
		t.Errorf("the server got hits=%d in all, want 6", got)
	}
}
