package bridge

import (
	"math"

	"github.com/telemetrybridge/telemetry/internal/journal"
)

// sweep lets go of what no reader needs: entries unused for a whole
// interval, entries of disabled keys, and held values that every active
// producer has reported. Cached entries make recording a known key cheap;
// sweeping keeps them from outliving their use.
func (b *Bridge) sweep() {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := b.reportedByAll()
	idle := func(s *stamp) bool { return b.intervals.idle(s.last()) }
	b.entries.each(func(e *entry) {
		if e.retired.Load() {
			return
		}
		switch {
		case b.filter.KeyDisabled(e.key):
			b.evict(e)
		case e.kind == kindSet:
			e.set.each(func(v *setValue) {
				if idle(&v.counted) {
					b.evictMember(e, v)
				}
			})
			e.set.prune()
			if idle(&e.counted) {
				b.evict(e)
			}
		case e.held != nil:
			if e.held.trim(seen, b.journal) && idle(&e.counted) {
				b.evict(e)
			}
		case idle(&e.counted):
			b.evict(e)
		}
	})
	b.entries.prune(func(_ string, e *entry) bool { return e.retired.Load() })
	b.freeRetired(b.stalledProducers())
}

// stalledProducers says, by producer number, which producers no longer
// collect; b.mu is held.
func (b *Bridge) stalledProducers() []bool {
	stalled := make([]bool, len(b.producers))
	for i, p := range b.producers {
		stalled[i] = p != b.primary && b.intervals.stalled(&p.reported)
	}
	return stalled
}

// reportedByAll is the highest change number that every producer still
// collecting has reported; b.mu is held.
func (b *Bridge) reportedByAll() uint64 {
	low := uint64(math.MaxUint64)
	for _, p := range b.producers {
		if p == b.primary || !b.intervals.stalled(&p.reported) && !b.intervals.farBehind(&p.reported) {
			low = min(low, p.reported.change.Load())
		}
	}
	return low
}

// trim drops the held values numbered up to seen and reports whether
// nothing is left. Their journal records stay until the update that took
// them is committed.
func (h *heldState) trim(seen uint64, j *journal.Journal) (empty bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v := h.value.Load(); v != nil && v.change <= seen {
		h.value.Store(nil)
		j.Retire(&h.valueRecord, v.change)
	}
	for sub, c := range h.nested {
		if c.cur.change <= seen {
			j.Retire(&c.record, c.cur.change)
			delete(h.nested, sub)
		}
	}
	keep := h.list[:0]
	for i := range h.list {
		if v := &h.list[i]; v.change > seen {
			keep = append(keep, *v)
		} else {
			j.Retire(&v.record, v.change)
		}
	}
	clear(h.list[len(keep):])
	h.list = keep
	return h.value.Load() == nil && len(h.nested) == 0 && len(h.list) == 0
}
