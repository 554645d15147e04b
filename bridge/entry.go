package bridge

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/metric"
)

// kind is what a key holds in the current update interval.
type kind uint8

const (
	kindCounter kind = iota + 1 // Add, Increment
	kindSet                     // AppendUnique
	kindValue                   // Set
	kindNested                  // SetNested
	kindList                    // Append
)

func (k kind) String() string {
	switch k {
	case kindCounter:
		return "a counter (Add/Increment)"
	case kindSet:
		return "a counting set (AppendUnique)"
	case kindValue:
		return "a value (Set)"
	case kindNested:
		return "a nested object (SetNested)"
	case kindList:
		return "a list (Append)"
	}
	return "nothing"
}

// entry is the bridge's handle on one key. Its kind never changes: a key
// that takes another kind gets a new entry. Counters and counting sets are
// SDK instruments fed through tallies; values, nested objects and lists are
// held here for the producers, since instruments cannot carry them.
type entry struct {
	key  string
	kind kind
	// epoch is the interval in which the key was last counted as an item.
	epoch atomic.Uint64

	counter *counterState
	set     *setState
	held    *heldState
}

type counterState struct {
	tally
	instrument metric.Int64UpDownCounter
}

func (c *counterState) record(n int64) { c.instrument.Add(context.Background(), n) }

type setState struct {
	instrument metric.Int64Counter
	values     sync.Map // the recorded value (hashable) -> *setValue
}

// setValue is one distinct value of a counting set, with its attribute
// option built once so that recording it again allocates nothing.
type setValue struct {
	tally
	epoch  atomic.Uint64
	option metric.AddOption
}

func (s *setState) record(v *setValue) func(int64) {
	return func(n int64) { s.instrument.Add(context.Background(), n, v.option) }
}

// heldState keeps what producers report for a Set, SetNested or Append
// key. Every change gets a sequence number from the bridge; a producer
// reports the changes numbered after the last one it reported.
type heldState struct {
	mu      sync.Mutex
	retired bool // the entry was replaced or evicted: record elsewhere
	value   held
	nested  map[string]*held
	list    []held
}

// held is one recorded value: int64, float64, string, bool or jsonText.
type held struct {
	v     any
	seq   uint64
	epoch uint64 // the interval in which it was counted as an item
}

// newEntry makes the entry for key; b.mu is held.
func (b *Bridge) newEntry(key string, k kind) *entry {
	e := &entry{key: key, kind: k}
	name := instrumentName(key)
	switch k {
	case kindCounter:
		inst, err := b.meter.Int64UpDownCounter(name)
		b.instrumentError(key, err)
		e.counter = &counterState{instrument: inst}
	case kindSet:
		inst, err := b.meter.Int64Counter(name)
		b.instrumentError(key, err)
		e.set = &setState{instrument: inst}
	default:
		e.held = &heldState{}
	}
	return e
}

// lookup returns the entry of kind k for key. A key that holds another kind
// in this interval is a programming error unless replace is set (Set
// overwrites anything); a key whose other kind was not used in this
// interval starts afresh, since the buffer is per update.
func (b *Bridge) lookup(key string, k kind, replace bool) *entry {
	if v, ok := b.entries.Load(key); ok {
		if e := v.(*entry); e.kind == k {
			return e
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.entries.Load(key); ok {
		old := v.(*entry)
		if old.kind == k {
			return old
		}
		if !replace && old.epoch.Load() == b.limit.current() {
			b.misuse(key, fmt.Sprintf("holds %s in this update; using it as %s is ignored", old.kind, k))
			return nil
		}
		b.evict(old)
	}
	e := b.newEntry(key, k)
	b.entries.Store(key, e)
	return e
}

// evict drops e from the tables; b.mu is held. Counts it still has go to
// the SDK, so that other readers miss nothing; held values are discarded,
// as their key now holds something else or nothing.
func (b *Bridge) evict(e *entry) {
	b.entries.CompareAndDelete(e.key, e)
	switch e.kind {
	case kindCounter:
		e.counter.evicted.Store(true)
		e.counter.drainTo(e.counter.record)
	case kindSet:
		e.set.values.Range(func(k, v any) bool {
			b.evictValue(e.set, k, v.(*setValue))
			return true
		})
	default:
		e.held.mu.Lock()
		e.held.retired = true
		e.held.mu.Unlock()
	}
}

func (b *Bridge) evictValue(s *setState, k any, v *setValue) {
	s.values.CompareAndDelete(k, v)
	v.evicted.Store(true)
	v.drainTo(s.record(v))
}
