package bridge

import (
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/telemetrybridge/telemetry/internal/journal"
)

// series is one count of the bridge as readers see it: a counter key, or
// one member of a counting set, under its metric name and attributes.
//
// Recording adds to the series' tally, a journal.Counted: one atomic add,
// no lock, kept in the journal when there is one so that a count whose
// call returned outlives the process. Collections drain the tallies into
// each reader's sum (handover.moveCounts), and each reader's producer
// reports its sums (report.go): as deltas since its previous report to
// the telemetry reader and to readers added with WithDeltaReader, as
// cumulative sums since the series began to the others.
//
// A key that is evicted and used again gets a new series, its successor:
// the evicted one hands it its sums and its start when the successor is
// first drained, and its later drains go to it, so that every reader sees
// one stream per key, which neither restarts nor repeats itself.
//
// Why the bridge does not feed SDK instruments: a delta aggregation starts
// empty at each collection, so the SDK made each series anew every
// update, one allocation and one sync.Map insert per counting-set member;
// with it, an update of 10,000 members and 1,000 counters took 2.2 times
// the baseline's time, a third of it in the SDK (BENCHMARKS.md, Update).
// The sums below are plain integers under the handover's lock.
//
// Sums wrap around as Go's int64 does: Add(k, math.MaxInt) then Add(k, 1)
// sends math.MinInt64, the value an int counter would hold.
type series struct {
	journal.Counted // the tally

	name      string        // the metric
	attrs     attribute.Set // what tells the series apart within it
	monotonic bool          // a counting set's member: its sums only grow
	start     time.Time     // when the series began, for cumulative sums

	// addedZero is set by Add(k, 0): the key is in the update with 0,
	// which a tally cannot tell from no call at all.
	addedZero atomic.Bool
	// evicted is the update interval in which the key or member was let
	// go, 0 while it is live, and evictedAt the time (Unix nanoseconds).
	// The tally is still drained after, since a call that found it just
	// before may add to it; it is freed once the interval of the eviction
	// has ended, Bridge.evictionGrace has passed (ForceFlush and Reset end
	// intervals as fast as they are called, so intervals alone are no
	// clock), nothing is left to drain and its last figures are committed.
	// A call would have to be suspended between finding its key and
	// adding to it for longer than both for its add to be lost, or, once
	// the journal record is reused, to be counted under the key that
	// reuses it.
	evicted   atomic.Uint64
	evictedAt atomic.Int64

	// The sums of the producers, by producer number (see producer.number):
	// the telemetry reader's inline, since most programs have no other
	// reader. Under the handover's mu, as are the fields below.
	telemetry readerSum
	others    []readerSum

	successor   *series // the series that took over the key, once evicted
	predecessor *series // the series whose key this one took over, until that one is freed
	next        *series // in the handover's list of new series
	family      int     // the series' metric in the report under way (countFamilies)
}

// readerSum is one reader's view of a series: what it has not been told
// (a delta reader's) or the total since its producer joined (a cumulative
// reader's). A producer that joins while counts wait in the tally starts
// below zero by as much (handover.join), with counted unset.
type readerSum struct {
	value int64
	// counted says the reader has a point to give: a drain added to it
	// since its producer joined (cumulative) or since its last report
	// (delta, which report clears). For a producer that joined while
	// counts waited in the tally, that first drain may sum to 0.
	counted    bool
	unreported bool // something was added since the reader's last report
}

// init makes s a new series with tally c.
func (s *series) init(c journal.Counted, name string, attrs attribute.Set, monotonic bool) {
	s.Counted, s.name, s.attrs, s.monotonic, s.start = c, name, attrs, monotonic, time.Now()
}

// add records n: one atomic add, whatever n is.
func (s *series) add(n int64) { s.Add(n) }

// sum returns producer i's sum, or nil when the series has none for it
// (nothing was added since that producer was made). h.mu is held.
func (s *series) sum(i int) *readerSum {
	if i == 0 {
		return &s.telemetry
	}
	if i-1 < len(s.others) {
		return &s.others[i-1]
	}
	return nil
}

// addToProducers adds n to the sums of the producers numbered below
// producers. h.mu is held.
func (s *series) addToProducers(n int64, producers int) {
	s.telemetry.add(n)
	if producers > 1 {
		s.slot(producers - 1)
	}
	for i := range s.others {
		s.others[i].add(n)
	}
}

// slot returns producer i's sum, making room for it. h.mu is held.
func (s *series) slot(i int) *readerSum {
	if i == 0 {
		return &s.telemetry
	}
	for len(s.others) < i {
		s.others = append(s.others, readerSum{})
	}
	return &s.others[i-1]
}

func (r *readerSum) add(n int64) {
	r.value += n
	r.counted, r.unreported = true, true
}

// waitedForByOthers reports whether some producer other than the
// telemetry reader's, and still collecting, has not been told what was
// added to s; stalled says which producers no longer collect (see
// intervals.stalled). h.mu is held.
func (s *series) waitedForByOthers(stalled []bool) bool {
	for i, r := range s.others {
		if r.unreported && !(i+1 < len(stalled) && stalled[i+1]) {
			return true
		}
	}
	return false
}

// streamID is what a reader tells a series by.
type streamID struct {
	name      string
	monotonic bool
	attrs     attribute.Distinct
}

func (s *series) id() streamID { return streamID{s.name, s.monotonic, s.attrs.Equivalent()} }

// handOver makes next the successor of the evicted s: next takes s's sums
// and start, and the later drains of s. h.mu is held.
func (s *series) handOver(next *series) {
	s.successor, next.predecessor = next, s
	next.start = s.start
	next.telemetry.merge(s.telemetry)
	for len(next.others) < len(s.others) {
		next.others = append(next.others, readerSum{})
	}
	for i, r := range s.others {
		next.others[i].merge(r)
	}
	s.telemetry, s.others = readerSum{}, nil
}

func (r *readerSum) merge(from readerSum) {
	r.value += from.value
	r.counted = r.counted || from.counted
	r.unreported = r.unreported || from.unreported
}

// heir is the series that now carries s's key: s itself while no
// successor took over.
func (s *series) heir() *series {
	for s.successor != nil {
		s = s.successor
	}
	return s
}
