package bridge

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// handover keeps every count of the bridge (series) and is the bridge's
// part in each collection of the telemetry reader: the one place that
// says which counts a collection took, so that the journal can tell the
// next process, should this one die, what no spool file holds (see the
// package doc, "Surviving the process").
//
// The telemetry reader announces each collection (CollectionHooks):
// BeginCollection moves every count into the readers' sums and marks it
// with the collection's generation; until EndCollection, the flushes that
// other readers' collections start move nothing, so the telemetry
// collection holds exactly what was marked. Other readers lose nothing by
// it: what they skip is moved by the next flush, before their next
// collection.
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

// adoptLocked moves the new series into all, oldest first; h.mu is held.
func (h *handover) adoptLocked() {
	from := len(h.all)
	for s := h.incoming.Swap(nil); s != nil; {
		next := s.next
		s.next = nil
		h.all = append(h.all, s)
		s = next
	}
	slices.Reverse(h.all[from:])
}

// flush moves every tally into the readers' sums. The SDK calls it at the
// start of each collection, for each reader, before the producers run, so
// the counts land in the collection that triggered it. Each count is added
// once to the sum of every reader, which keeps each reader's deltas and
// cumulative sums exact.
//
// flush must not take b.mu: the sweep takes h.mu while it holds b.mu.
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

// moveCounts drains every tally into the readers' sums; for a telemetry
// collection (gen > 0) it also marks each with gen. h.mu is held.
func (b *Bridge) moveCounts(gen uint64) {
	h := &b.hand
	h.adoptLocked()
	b.freeRetiredLocked() // before the marks below make their figures uncommitted again
	readers := int(b.readers.Load())
	for _, s := range h.all {
		n := s.Drain()
		zero := s.addedZero.Load() && s.addedZero.Swap(false)
		if n != 0 || zero {
			s.addToReaders(n, readers)
		}
		if gen != 0 {
			b.journal.Mark(s.Counted, gen)
		}
	}
}

// countMetrics appends the sums that p's reader has not been told to ms:
// the telemetry reader's producer (number 0) reports deltas since its
// previous report, others the cumulative sums of every series they have
// seen counted.
func (b *Bridge) countMetrics(p *producer, ms []metricdata.Metrics, now time.Time) []metricdata.Metrics {
	h := &b.hand
	h.mu.Lock()
	defer h.mu.Unlock()
	delta := p.number == 0
	temporality := metricdata.CumulativeTemporality
	if delta {
		temporality = metricdata.DeltaTemporality
	}
	var families countFamilies
	for _, s := range h.all {
		if sum := s.sum(p.number); sum != nil && sum.has {
			s.family = families.family(s)
		}
	}
	families.cut(temporality)
	for _, s := range h.all {
		sum := s.sum(p.number)
		if sum == nil || !sum.has {
			continue
		}
		pt := metricdata.DataPoint[int64]{Attributes: s.attrs, StartTime: s.start, Time: now, Value: sum.value}
		if delta {
			pt.StartTime = p.lastReport
			*sum = readerSum{}
		}
		families.place(s, pt)
	}
	if delta {
		p.lastReport = now
	}
	return families.appendTo(ms)
}

// retire marks an evicted series; it is drained until freeRetired lets
// it go.
func (b *Bridge) retire(s *series) { s.evicted.CompareAndSwap(0, b.intervals.now()) }

// freeRetired lets go of the evicted series whose update interval has
// ended, whose figures are all committed and which the telemetry reader
// has been told; sweep calls it when an interval ends.
func (b *Bridge) freeRetired() {
	b.hand.mu.Lock()
	defer b.hand.mu.Unlock()
	b.freeRetiredLocked()
}

func (b *Bridge) freeRetiredLocked() {
	h := &b.hand
	cur := b.intervals.now()
	keep := h.all[:0]
	for _, s := range h.all {
		if ev := s.evicted.Load(); ev != 0 && cur > ev && !s.first.has && b.journal.Committed(s.Counted) {
			b.journal.Free(s.Counted)
			continue
		}
		keep = append(keep, s)
	}
	clear(h.all[len(keep):])
	h.all = keep
}
