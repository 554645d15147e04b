package bridge

import (
	"math"
	"sync/atomic"
)

// evictedMark is what an evicted tally's count is set to: so far below
// any real count that a recorder sees from the result of its own add that
// the tally is gone, with no second memory access on the hot path.
const evictedMark = math.MinInt64 / 2

// tally is a count that recording goroutines add to without locks and that
// collections drain into an SDK instrument. Draining happens inside the SDK
// collection (see flush), so each reader's own aggregation computes its
// delta or cumulative view; the tally only batches the hot path.
type tally struct {
	pending atomic.Int64
}

// add records n. It reports false when the tally was evicted; the add has
// then been taken back, and the caller records n elsewhere.
func (t *tally) add(n int64) bool {
	if t.pending.Add(n) > evictedMark/2 {
		return true
	}
	t.pending.Add(-n)
	return false
}

// drainTo moves the pending count into record, unless the tally is
// evicted (its count then went out with the eviction).
func (t *tally) drainTo(record func(int64)) {
	for {
		n := t.pending.Load()
		if n == 0 || n < evictedMark/2 {
			return
		}
		if t.pending.CompareAndSwap(n, 0) {
			record(n)
			return
		}
	}
}

// evict marks the tally dead and moves what it held into record.
func (t *tally) evict(record func(int64)) {
	if n := t.pending.Swap(evictedMark); n != 0 && n > evictedMark/2 {
		record(n)
	}
}

func (t *tally) evicted() bool { return t.pending.Load() < evictedMark/2 }
