package bridge

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/telemetrybridge/telemetry/internal/journal"
	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/otel/attribute"
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
// that takes another kind gets a new entry and the old one is retired.
// Counters and counting sets are series (series.go); values, nested
// objects and lists are held here for the producers.
type entry struct {
	key     string
	kind    kind
	counted stamp // the interval in which the key was last counted as an item
	// filterVersion is the key filter's version under which the key was
	// last found enabled.
	filterVersion atomic.Uint64
	// retired is set when the entry was replaced or evicted.
	retired atomic.Bool

	counter *series
	set     *setState
	held    *heldState
}

type setState struct {
	name     string               // the metric of its members
	keyAttrs []attribute.KeyValue // the key's attribute within that metric
	// The members, by recorded value. Strings (hashes, names) are the
	// common case and get a table of their own: a string-keyed map finds
	// them at a third of the cost of an interface-keyed one.
	strings *table[string, *setValue]
	others  *table[any, *setValue]
}

func newSetState(name string, keyAttrs []attribute.KeyValue) *setState {
	return &setState{name: name, keyAttrs: keyAttrs, strings: newTable[string, *setValue](), others: newTable[any, *setValue]()}
}

// each calls f for every member.
func (s *setState) each(f func(*setValue)) {
	s.strings.each(f)
	s.others.each(f)
}

// prune forgets evicted members.
func (s *setState) prune() {
	s.strings.prune(func(_ string, v *setValue) bool { return v.retired.Load() })
	s.others.prune(func(_ any, v *setValue) bool { return v.retired.Load() })
}

// setValue is one distinct value of a counting set: a series whose
// attributes hold the value.
type setValue struct {
	series
	counted stamp       // the interval in which it was last counted as an item
	retired atomic.Bool // evicted: the next call makes a new member
}

// newEntry makes the entry for key; b.mu is held.
func (b *Bridge) newEntry(key string, k kind) *entry {
	e := &entry{key: key, kind: k}
	e.counted.born = b.intervals.now()
	switch k {
	case kindCounter:
		name, attrs := b.metricFor(key, "telemetry.counters")
		e.counter = new(series)
		e.counter.init(b.newCount(journal.KindCounter, key, nil), name, attribute.NewSet(attrs...), false)
		b.hand.register(e.counter)
	case kindSet:
		e.set = newSetState(b.metricFor(key, "telemetry.counting_sets"))
	default:
		e.held = newHeldState()
	}
	return e
}

// maxMetricNames bounds the metric names the bridge makes from counter
// and counting-set keys: a program that makes up new keys all the time
// would otherwise give every reader's backend (a Prometheus, say) an
// unbounded number of metric names, and the bridge a map that only grows.
const maxMetricNames = 10_000

// metricFor picks the metric that carries key's counts, and the attribute
// that tells its points apart; b.mu is held. A key with a colon shares its
// family's metric ("tls:3fa2" is metric "tls" with suffix "3fa2"), which
// is also what OTel backends expect: one metric, many series. Once
// maxMetricNames names are taken, keys go to a shared metric with the key
// as an attribute. The exporter restores the exact key either way.
func (b *Bridge) metricFor(key, shared string) (string, []attribute.KeyValue) {
	name, suffix := familyName(key)
	if _, known := b.named[name]; !known {
		if len(b.named) >= maxMetricNames {
			return shared, []attribute.KeyValue{attribute.String(payload.AttrKey, key)}
		}
		b.named[name] = struct{}{}
	}
	return name, suffix
}

// lookup returns the live entry of kind k for key, or nil when the call
// must do nothing (a disabled key, a misuse). The fast path takes no lock
// and writes no shared memory (see the package doc's "hot path").
func (b *Bridge) lookup(key string, k kind, replace bool) *entry {
	if e := b.liveEntry(key); e != nil && e.kind == k && b.enabled(e) {
		return e
	}
	return b.lookupSlow(key, k, replace)
}

// liveEntry finds key's entry without a lock: first among the recently
// used entries, by the address of the key's bytes, then in the entry
// table's snapshot.
//
// A key is nearly always a string literal, and a literal has one address
// for the life of the program; a string with the same address and length
// as an entry's key is that key, so the recent slots find it without
// hashing its bytes. Without the slots an Increment took 31 % more CPU at
// -cpu 1 and 56 % more at -cpu 2, and an AppendUnique of a fresh string
// 41 % more at -cpu 2 (BENCHMARKS.md). A key built at run time has a new
// address on every call, is never put in a slot, and is found by the table
// as before.
func (b *Bridge) liveEntry(key string) *entry {
	slot := &b.recent[recentSlot(key)]
	if e := slot.Load(); e != nil && sameBytes(e.key, key) && !e.retired.Load() {
		return e
	}
	e, ok := b.entries.loadFast(key)
	if !ok || e.retired.Load() {
		return nil
	}
	if sameBytes(e.key, key) {
		slot.Store(e)
	}
	return e
}

// recentSlots is the number of recently used entries kept by address.
const (
	recentSlotBits = 6
	recentSlots    = 1 << recentSlotBits
)

// recentSlot picks key's slot from the address of its bytes: the top bits
// of the address times 2^64/phi (Fibonacci hashing).
func recentSlot(key string) uintptr {
	const phi64 = 0x9E3779B97F4A7C15
	addr := uint64(uintptr(unsafe.Pointer(unsafe.StringData(key))))
	return uintptr(addr * phi64 >> (64 - recentSlotBits))
}

// sameBytes reports whether a and b are the same bytes in memory, not
// merely equal text.
func sameBytes(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// enabled reports whether e's key is not disabled, asking the filter only
// when its version changed since the last answer.
func (b *Bridge) enabled(e *entry) bool {
	v := b.filter.KeyFilterVersion()
	if e.filterVersion.Load() == v {
		return true
	}
	if b.filter.KeyDisabled(e.key) {
		return false
	}
	e.filterVersion.Store(v)
	return true
}

// lookupSlow finds or makes the entry under b.mu. A key that holds another
// kind in this interval is a programming error unless replace is set (Set
// overwrites anything); a key whose other kind was not used in this
// interval starts afresh, since the buffer is per update.
func (b *Bridge) lookupSlow(key string, k kind, replace bool) *entry {
	version := b.filter.KeyFilterVersion()
	if b.filter.KeyDisabled(key) {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.entries.load(key); ok && !old.retired.Load() {
		if old.kind == k {
			old.filterVersion.Store(version)
			return old
		}
		if !replace && old.counted.Load() == b.intervals.now() {
			b.misuse(key, fmt.Sprintf("holds %s in this update; using it as %s is ignored", old.kind, k))
			return nil
		}
		b.evict(old)
	}
	if b.intervals.full() {
		return nil
	}
	e := b.newEntry(key, k)
	e.filterVersion.Store(version)
	b.entries.store(key, e)
	return e
}

// evict retires e. Its series are drained until they are freed, and the
// series that takes its key over inherits their sums, so that no reader
// misses a count; held values are discarded, as their key now holds
// something else or nothing. The table forgets e at the next prune.
func (b *Bridge) evict(e *entry) {
	e.retired.Store(true)
	switch e.kind {
	case kindCounter:
		b.retire(e.counter)
	case kindSet:
		e.set.each(func(v *setValue) { b.evictMember(e, v) })
	default:
		e.held.retire(b.journal)
	}
}

// evictMember retires one member of a counting set.
func (b *Bridge) evictMember(e *entry, v *setValue) {
	// Marked evicted first: a new member for the value is made only once
	// the old one reads as retired, and must then find it evicted (see
	// succeed).
	b.retire(&v.series)
	v.retired.Store(true)
}

// newCount makes a count in the journal, or in memory when there is no
// journal or it is full (reported once).
func (b *Bridge) newCount(k journal.Kind, key string, member any) journal.Counted {
	var t journal.Type
	var text []byte
	if member != nil {
		var buf [8]byte
		t, text = journalForm(member, &buf)
	}
	c, ok := b.journal.NewCount(k, key, t, text)
	if !ok {
		b.notJournaled(key)
	}
	return c
}

// heldState keeps what producers report for a Set, SetNested or Append
// key. Every change gets a change number (see intervals); a producer
// reports the changes numbered after the last one it reported.
type heldState struct {
	mu      sync.Mutex // orders changes and their change numbers
	retired bool
	// value is the latest Set, read without the lock on the fast path.
	value       atomic.Pointer[held]
	valueRecord journal.Value // its journal record
	// nested holds the latest value of each SetNested sub-key; under mu.
	nested map[string]*nestedCell
	list   []element
}

// nestedCell is one sub-key. Its value is held in place, under the key's
// mu: a value that changes on every call costs no allocation.
type nestedCell struct {
	subkey  string
	cur     held          // under mu
	counted uint64        // the interval in which the sub-key was last counted; under mu
	record  journal.Value // under mu
}

func newHeldState() *heldState { return &heldState{nested: make(map[string]*nestedCell)} }

// retire discards what h holds, in memory and in the journal.
func (h *heldState) retire(j *journal.Journal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.retired = true
	j.Drop(&h.valueRecord)
	for _, c := range h.nested {
		j.Drop(&c.record)
	}
	for i := range h.list {
		j.Drop(&h.list[i].record)
	}
}

// held is one recorded value: int64, float64, string, bool or jsonText.
type held struct {
	v        any
	change   uint64 // its change number (see intervals)
	interval uint64 // the interval in which it was recorded
}

// element is one Append, with its journal record.
type element struct {
	held
	record journal.Value
}
