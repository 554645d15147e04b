package bridge

import "github.com/telemetrybridge/telemetry/internal/journal"

// tally is a count that recording goroutines add to without locks and that
// collections drain into an SDK instrument. It lives in the journal (a
// file mapped into memory, see the package doc) when the bridge has one,
// so that a count whose call returned outlives the process. Draining
// happens inside the SDK collection (see flush), so each reader's own
// aggregation computes its delta or cumulative view; the tally only
// batches the hot path.
//
// Sums wrap around as Go's int64 does: Add(k, math.MaxInt) then Add(k, 1)
// sends math.MinInt64, the value an int counter would hold.
type tally struct {
	journal.Counted
}

// add records n: one atomic add, whatever n is.
func (t *tally) add(n int64) { t.Add(n) }

// retiringTally is the tally of an evicted entry or member. It is still
// drained at every collection, since a call that found it just before the
// eviction may add to it after; it is let go once the update interval of
// the eviction has ended and its last figures are committed. A call would
// have to be suspended between finding its key and adding to it for a
// whole update interval (a second at the least, an hour usually) for its
// add to be lost, or, once the journal record is reused, to be counted
// under the key that reuses it.
type retiringTally struct {
	t       *tally
	record  func(int64)
	evicted uint64 // the update interval of the eviction
}
