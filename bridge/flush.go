package bridge

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// handover keeps every count of the bridge (series) and is the bridge's
// part in each collection of the telemetry reader: the one place that
// says which counts a collection took, so that the journal can tell the
// next process, should this one die, what no spool file holds (see the
// package doc, "Surviving the process").
//
// The telemetry reader announces each collection (CollectionHooks):
// BeginCollection moves every count into the readers' sums and marks it
// with the collection's generation; until EndCollection, the moves that
// other readers' producers start move nothing, so the telemetry
// collection holds exactly what was marked. Other readers lose nothing by
// it: what they skip is moved by the next move, before their next report,
// and an evicted series waits for the producers that still collect to
// report it (up to maxWaitingForReaders such series; see
// freeRetiredLocked).
type handover struct {
	b *Bridge
	// mu serialises draining and reporting: a count is drained by one
	// flush at a time, and the readers' sums are read and written under it.
	mu sync.Mutex
	// collecting is set while the telemetry reader collects.
	collecting atomic.Bool
	// gen is the generation of the telemetry collection under way.
	gen atomic.Uint64
	// checkpoint is set when that collection is a checkpoint, which keeps
	// figures on disk without ending the update interval.
	checkpoint atomic.Bool
	// incoming holds the series made since the last drain, linked through
	// series.next. A new key or member is pushed there without a lock, so
	// that a recording call never waits for a collection to finish.
	incoming atomic.Pointer[series]
	// all holds every series until it is freed; under mu.
	all []*series
	// stalled says, by producer number, which producers no longer collect
	// (intervals.stalled), so that they hold no series back; under mu,
	// set by each sweep.
	stalled []bool
}

// BeginCollection implements CollectionHooks.
func (h *handover) BeginCollection(gen uint64, checkpoint bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.collecting.Store(true)
	h.gen.Store(gen)
	h.checkpoint.Store(checkpoint)
	h.b.moveCounts(gen)
}

// EndCollection implements CollectionHooks.
func (h *handover) EndCollection() { h.collecting.Store(false) }

// join makes room for producer number, leaving out of its sums what was
// recorded before it joined and is not drained yet: the next drain adds it
// to every producer, so the new one starts below zero by as much.
// Meanwhile no drain runs, so that no count is split. Its cost is one
// pass over the series, once per producer.
func (h *handover) join(number int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.adoptLocked()
	for _, s := range h.all {
		if n := s.Undrained(); n != 0 {
			s.heir().slot(number).value -= n
		}
	}
	h.b.producerCount.Store(int32(number + 1))
}

// register adds a new series; it is drained from the next collection on.
func (h *handover) register(s *series) {
	for {
		head := h.incoming.Load()
		s.next = head
		if h.incoming.CompareAndSwap(head, s) {
			return
		}
	}
}

// adoptLocked moves the new series into all, oldest first, each made the
// successor of the evicted series of its key, if one is still kept.
// h.mu is held.
func (h *handover) adoptLocked() {
	from := len(h.all)
	for s := h.incoming.Swap(nil); s != nil; {
		next := s.next
		s.next = nil
		h.all = append(h.all, s)
		s = next
	}
	slices.Reverse(h.all[from:])
	if len(h.all) > from {
		succeed(h.all, from)
	}
}

// succeed hands each evicted series of all that no successor took over yet
// to the next series of the same stream from all[from:], the new ones.
// Eviction marks a series before its key or member can be made anew, and
// series are kept in the order they were made, so a successor comes after
// the series it takes over, which reads as evicted by then.
func succeed(all []*series, from int) {
	var evicted map[streamID]*series
	waiting := func(s *series) {
		if s.evicted.Load() != 0 && s.successor == nil {
			if evicted == nil {
				evicted = make(map[streamID]*series)
			}
			evicted[s.id()] = s
		}
	}
	for _, s := range all[:from] {
		waiting(s)
	}
	for _, s := range all[from:] {
		if evicted != nil {
			if prev, ok := evicted[s.id()]; ok {
				prev.handOver(s)
				delete(evicted, s.id())
			}
		}
		waiting(s)
	}
}

// moveForReport moves every tally into the producers' sums before a
// producer other than the telemetry reader's reports, so that its reader
// gets what was recorded until then. Each count is added once to the sum
// of every producer, which keeps each reader's deltas and cumulative sums
// exact.
//
// It must not take b.mu: the sweep takes h.mu while it holds b.mu.
func (b *Bridge) moveForReport() {
	h := &b.hand
	if h.collecting.Load() {
		return // BeginCollection moved the counts; see handover
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.collecting.Load() {
		b.moveCounts(0)
	}
}

// moveCounts drains every tally into the readers' sums; for a telemetry
// collection (gen > 0) it also marks each with gen. h.mu is held.
func (b *Bridge) moveCounts(gen uint64) {
	h := &b.hand
	h.adoptLocked()
	b.freeRetiredLocked() // before the marks below make their figures uncommitted again
	producers := int(b.producerCount.Load())
	for _, s := range h.all {
		n := s.Drain()
		zero := s.addedZero.Load() && s.addedZero.Swap(false)
		if n != 0 || zero {
			s.heir().addToProducers(n, producers)
		}
		if gen != 0 {
			b.journal.Mark(s.Counted, gen)
		}
	}
}

// retire marks an evicted series; it is drained until freeRetired lets
// it go.
func (b *Bridge) retire(s *series) {
	if s.evicted.CompareAndSwap(0, b.intervals.now()) {
		s.evictedAt.Store(time.Now().UnixNano())
	}
}

// defaultEvictionGrace is the least time an evicted series is kept
// (Bridge.evictionGrace): far longer than a recording call takes between
// finding its series and adding to it (nanoseconds), even on a machine so
// loaded that the call's goroutine waits for a core.
const defaultEvictionGrace = 2 * time.Second

// freeable reports whether s may be let go as far as its own state goes:
// evicted in an interval that ended and at least b.evictionGrace ago,
// drained, committed, and no longer the heir of a series still kept.
// Whether readers were told its sums is asked apart (see freeRetiredLocked).
// h.mu is held.
func (b *Bridge) freeable(s *series, cur uint64, now int64) bool {
	ev, at := s.evicted.Load(), s.evictedAt.Load()
	return ev != 0 && cur > ev && at != 0 && now-at >= int64(b.evictionGrace) &&
		s.predecessor == nil && s.Undrained() == 0 && b.journal.Committed(s.Counted)
}

// freeRetired records which producers stalled and lets go of the evicted
// series that may go (freeRetiredLocked); sweep calls it when an interval
// ends, and every drain (moveCounts) lets go first of what may go.
func (b *Bridge) freeRetired(stalled []bool) {
	b.hand.mu.Lock()
	defer b.hand.mu.Unlock()
	b.hand.stalled = stalled
	b.freeRetiredLocked()
}

func (b *Bridge) freeRetiredLocked() {
	h := &b.hand
	cur, now := b.intervals.now(), time.Now().UnixNano()
	done := func(s *series) bool { return b.freeable(s, cur, now) && !s.telemetry.unreported }
	// Series that only other readers wait for are kept up to
	// maxWaitingForReaders: a reader that collects seldom gets its counts,
	// and one that stopped cannot make the bridge grow without bound (the
	// oldest go first).
	waiting := 0
	for _, s := range h.all {
		if done(s) && s.waitedForByOthers(h.stalled) {
			waiting++
		}
	}
	over := waiting - b.maxWaiting
	keep := h.all[:0]
	for _, s := range h.all { // oldest first: a series before its successor
		if done(s) {
			waited := s.waitedForByOthers(h.stalled)
			if waited && over > 0 {
				waited, over = false, over-1
			}
			if !waited {
				b.journal.Free(s.Counted)
				if s.successor != nil {
					s.successor.predecessor = nil
				}
				continue
			}
		}
		keep = append(keep, s)
	}
	clear(h.all[len(keep):])
	h.all = keep
}

// maxWaitingForReaders bounds the evicted series kept only because a
// reader other than the telemetry reader has not collected them yet.
const maxWaitingForReaders = MaxItems
