package bridge

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"
)

// handover is the bridge's part in each collection of the telemetry
// reader: the one place that says which counts a collection took, so that
// the journal can tell the next process, should this one die, what no
// spool file holds (see the package doc, "Surviving the process").
//
// The telemetry reader announces each collection (CollectionHooks):
// BeginCollection moves every count into the SDK and marks it with the
// collection's generation; until EndCollection, the flushes that other
// readers' collections start move nothing, so the telemetry collection
// holds exactly what was marked. Other readers lose nothing by it: what
// they skip is moved by the next flush, before their next collection.
type handover struct {
	b *Bridge
	// mu serialises draining: a count is drained by one flush at a time.
	mu sync.Mutex
	// collecting is set while the telemetry reader collects.
	collecting atomic.Bool
	// gen is the generation of the telemetry collection under way.
	gen atomic.Uint64
	// checkpoint is set when that collection is a checkpoint, which keeps
	// figures on disk without ending the update interval.
	checkpoint atomic.Bool
	// retiring holds the tallies of evicted entries and members; under mu.
	retiring []retiringTally
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

// flush moves every tally into its SDK instrument. The SDK calls it at the
// start of each collection, for each reader, before it reads the
// instruments' aggregations, so the counts land in the collection that
// triggered it. Each count is added once and reaches every reader's
// aggregation, which keeps per-reader delta and cumulative views exact.
//
// Why go around the SDK's synchronous path: a direct Add costs more than the
// whole mutex-and-map design this package replaces, and does not scale over
// cores; an atomic add on the hot path and one SDK Add per key per
// collection does.
//
// flush must not take b.mu: an instrument is created under b.mu, and
// creation waits for the SDK's pipeline lock, which a collection holds
// while it calls flush.
func (b *Bridge) flush(_ context.Context, _ metric.Int64Observer) error {
	h := &b.hand
	if h.collecting.Load() {
		return nil // BeginCollection moved the counts; see handover
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.collecting.Load() {
		b.moveCounts(0)
	}
	return nil
}

// moveCounts drains every tally into the SDK; for a telemetry collection
// (gen > 0) it also marks each with gen. h.mu is held.
func (b *Bridge) moveCounts(gen uint64) {
	b.entries.each(func(e *entry) {
		if e.retired.Load() {
			return // drained from the retiring list
		}
		switch e.kind {
		case kindCounter:
			b.drain(&e.counter.tally, e.counter.record, gen)
		case kindSet:
			e.set.each(func(v *setValue) {
				if !v.retired.Load() {
					b.drain(&v.tally, e.set.record(v), gen)
				}
			})
		}
	})
	b.drainRetiring(gen)
}

func (b *Bridge) drain(t *tally, record func(int64), gen uint64) {
	if n := t.Drain(); n != 0 {
		record(n)
	}
	if gen != 0 {
		b.journal.Mark(t.Counted, gen)
	}
}

// retire hands an evicted tally to the retiring list.
func (b *Bridge) retire(t *tally, record func(int64)) {
	h := &b.hand
	h.mu.Lock()
	defer h.mu.Unlock()
	h.retiring = append(h.retiring, retiringTally{t: t, record: record, evicted: b.intervals.now()})
}

// drainRetiring drains the retiring tallies that are still needed (see
// freeRetired); h.mu is held.
func (b *Bridge) drainRetiring(gen uint64) {
	b.freeRetiredLocked()
	for _, r := range b.hand.retiring {
		b.drain(r.t, r.record, gen)
	}
}

// freeRetired lets go of the retiring tallies whose update interval has
// ended and whose figures are all committed; sweep calls it when an
// interval ends.
func (b *Bridge) freeRetired() {
	b.hand.mu.Lock()
	defer b.hand.mu.Unlock()
	b.freeRetiredLocked()
}

func (b *Bridge) freeRetiredLocked() {
	h := &b.hand
	cur := b.intervals.now()
	keep := h.retiring[:0]
	for _, r := range h.retiring {
		if cur > r.evicted && b.journal.Committed(r.t.Counted) {
			b.journal.Free(r.t.Counted)
			continue
		}
		keep = append(keep, r)
	}
	clear(h.retiring[len(keep):])
	h.retiring = keep
}
