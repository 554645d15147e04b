package bridge

import (
	"math"

	"github.com/telemetrybridge/telemetry/internal/journal"
)

// A producer that has not produced for stalledAfter intervals no longer
// holds values back from being let go: a reader that stopped collecting
// must not make the bridge grow without bound.
const stalledAfter = 2

// sweep lets go of what no reader needs: entries unused for a whole
// interval, entries of disabled keys, and held values that every active
// producer has reported. Cached entries make recording a known key cheap;
// sweeping keeps them from outliving their use.
func (b *Bridge) sweep() {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.limit.current()
	seen := b.reportedByAll(cur)
	idle := func(epoch uint64) bool { return epoch+1 < cur }
	b.entries.each(func(e *entry) {
		if e.retired.Load() {
			return
		}
		switch {
		case b.filter.KeyDisabled(e.key):
			b.evict(e)
		case e.kind == kindSet:
			e.set.each(func(v *setValue) {
				if idle(v.epoch.Load()) {
					b.evictMember(e, v)
				}
			})
			e.set.prune()
			if idle(e.epoch.Load()) {
				b.evict(e)
			}
		case e.held != nil:
			if e.held.trim(seen, b.journal) && idle(e.epoch.Load()) {
				b.evict(e)
			}
		case idle(e.epoch.Load()):
			b.evict(e)
		}
	})
	b.entries.prune(func(_ string, e *entry) bool { return e.retired.Load() })
	b.freeRetired()
}

// reportedByAll is the highest sequence number that every producer still
// collecting has reported; b.mu is held.
func (b *Bridge) reportedByAll(cur uint64) uint64 {
	low := uint64(math.MaxUint64)
	for _, p := range b.producers {
		if p == b.primary || p.lastEpoch.Load()+stalledAfter >= cur {
			low = min(low, p.last.Load())
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
	if v := h.value.Load(); v != nil && v.seq <= seen {
		h.value.Store(nil)
		j.Retire(&h.valueRecord, v.seq)
	}
	for sub, c := range h.nested {
		if c.cur.seq <= seen {
			j.Retire(&c.record, c.cur.seq)
			delete(h.nested, sub)
		}
	}
	keep := h.list[:0]
	for i := range h.list {
		if v := &h.list[i]; v.seq > seen {
			keep = append(keep, *v)
		} else {
			j.Retire(&v.record, v.seq)
		}
	}
	clear(h.list[len(keep):])
	h.list = keep
	return h.value.Load() == nil && len(h.nested) == 0 && len(h.list) == 0
}
