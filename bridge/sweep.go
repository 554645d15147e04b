package bridge

import "math"

// A producer that has not produced for stalledAfter intervals no longer
// holds values back from being let go: a reader that stopped collecting
// must not make the bridge grow without bound.
const stalledAfter = 2

// sweep lets go of what no reader needs: entries unused for a whole
// interval, entries of disabled keys, and held values that every active
// producer has reported. Cached entries make recording a known key cheap;
// sweeping keeps them from outliving their use. b.mu must not be held.
func (b *Bridge) sweep() {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.limit.current()
	seen := b.reportedByAll(cur)
	b.entries.Range(func(_, v any) bool {
		e := v.(*entry)
		idle := e.epoch.Load()+1 < cur
		switch {
		case b.exp.KeyDisabled(e.key):
			b.evict(e)
		case e.kind == kindSet:
			b.sweepSet(e, cur)
			if idle {
				b.evict(e)
			}
		case e.held != nil:
			if e.held.trim(seen) && idle {
				b.evict(e)
			}
		case idle:
			b.evict(e)
		}
		return true
	})
}

// reportedByAll is the highest sequence number that every producer still
// collecting has reported.
func (b *Bridge) reportedByAll(cur uint64) uint64 {
	low := uint64(math.MaxUint64)
	for _, p := range b.producers {
		if p == b.primary || p.lastEpoch.Load()+stalledAfter >= cur {
			low = min(low, p.last.Load())
		}
	}
	return low
}

func (b *Bridge) sweepSet(e *entry, cur uint64) {
	e.set.values.Range(func(k, v any) bool {
		if sv := v.(*setValue); sv.epoch.Load()+1 < cur {
			b.evictValue(e.set, k, sv)
		}
		return true
	})
}

// trim drops the held values numbered up to seen and reports whether
// nothing is left.
func (h *heldState) trim(seen uint64) (empty bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.value.seq <= seen {
		h.value = held{}
	}
	for s, v := range h.nested {
		if v.seq <= seen {
			delete(h.nested, s)
		}
	}
	keep := h.list[:0]
	for _, v := range h.list {
		if v.seq > seen {
			keep = append(keep, v)
		}
	}
	clear(h.list[len(keep):])
	h.list = keep
	return h.value.v == nil && len(h.nested) == 0 && len(h.list) == 0
}
