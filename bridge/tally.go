package bridge

import "sync/atomic"

// tally is a count that recording goroutines add to without locks and that
// collections drain into an SDK instrument. Draining happens inside the SDK
// collection (see flush), so each reader's own aggregation computes its
// delta or cumulative view; the tally only batches the hot path.
type tally struct {
	pending atomic.Int64
	// evicted is set when the tally is dropped from the bridge's tables;
	// a recorder that still holds it then drains what it added itself.
	evicted atomic.Bool
}

// add records n and reports whether the tally had been evicted, in which
// case the caller must drain it (see drainTo).
func (t *tally) add(n int64) (evicted bool) {
	t.pending.Add(n)
	return t.evicted.Load()
}

// drainTo moves the pending count into record. Both the evicting side and a
// late recorder call it after marking/seeing eviction; the swap makes every
// count land exactly once.
func (t *tally) drainTo(record func(int64)) {
	if n := t.pending.Swap(0); n != 0 {
		record(n)
	}
}
