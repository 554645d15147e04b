package bridge

import (
	"fmt"
	"strings"

	"github.com/telemetrybridge/telemetry/internal/journal"

	"go.opentelemetry.io/otel/attribute"
)

// Add adds n to the counter named key; the update carries the sum of the
// amounts since the previous one.
func (b *Bridge) Add(key string, n int) {
	if b.closed.Load() {
		return
	}
	e := b.lookup(key, kindCounter, false)
	if e == nil || !b.intervals.admit(&e.counted) {
		return
	}
	if n == 0 {
		// Adding nothing still puts the key, with 0, in the update; a
		// tally cannot tell that from no call at all.
		e.counter.addedZero.Store(true)
		return
	}
	// Should the entry be evicted meanwhile, its tally is still drained
	// (see series.evicted): the add is never lost and never retried.
	e.counter.add(int64(n))
}

// Increment adds 1 to the counter named key.
func (b *Bridge) Increment(key string) { b.Add(key, 1) }

// AppendUnique counts one more occurrence of value in the counting set
// named key. The value must be usable as a map key; anything else is a
// programming error that is reported and ignored.
func (b *Bridge) AppendUnique(key string, value any) {
	if b.closed.Load() {
		return
	}
	if !hashable(value) {
		b.misuse(key, fmt.Sprintf("AppendUnique got a %T, which cannot be a set member; ignored", value))
		return
	}
	for {
		e := b.lookup(key, kindSet, false)
		if e == nil || !b.intervals.admit(&e.counted) {
			return
		}
		v := b.setValue(e, value)
		if v == errSetRetired { // evicted meanwhile: look the key up again
			continue
		}
		if v == nil || !b.intervals.admit(&v.counted) {
			return
		}
		v.add(1)
		return
	}
}

// errSetRetired is what setValue returns when the set was evicted before
// a new member could join it: a member made then would be missed by the
// eviction's walk of the members, and live on beside the key's new set.
var errSetRetired = new(setValue)

// setValue returns the member of e's set for value, creating it on first
// sight with its attributes.
func (b *Bridge) setValue(e *entry, value any) *setValue {
	if s, isString := value.(string); isString {
		if v, ok := e.set.strings.loadFast(s); ok && !v.retired.Load() {
			return v
		}
		// The member keeps a copy of its own, not the caller's string: kept
		// strings made one per request, scattered through the heap, left
		// the allocator's spans partly used, and the callers' allocations
		// (which are most of the cost of such a call) up to 1.8 times
		// slower in some processes (measured in 57939df).
		own := strings.Clone(s)
		return memberOf(b, e, e.set.strings, own, own, nil)
	}
	if v, ok := e.set.others.loadFast(value); ok && !v.retired.Load() {
		return v
	}
	return memberOf(b, e, e.set.others, value, value, func(a attribute.KeyValue) any { return sameAttribute{a} })
}

// sameAttribute keys a counting set's member by the attribute its value
// becomes. Values that differ in Go but not as attributes (int(1) and
// int64(1), two structs with the same JSON) are one member, as they would
// be one series of an SDK instrument: two series with equal attributes
// would read as duplicates to a reader. Strings need no such key: no other
// type becomes a string attribute named telemetry.value.
type sameAttribute struct{ attribute.KeyValue }

// memberOf finds or makes the member for value in t, under t's lock.
// byAttribute, when given, gives the member a second key, from its value's
// attribute, by which values that become the same attribute find it.
func memberOf[K comparable](b *Bridge, e *entry, t *table[K, *setValue], k K, value any, byAttribute func(attribute.KeyValue) K) *setValue {
	if b.intervals.full() {
		return nil
	}
	captured, err := capture(value)
	if err != nil {
		b.misuse(e.key, fmt.Sprintf("AppendUnique: %v; ignored", err))
		return nil
	}
	attr := valueAttribute(captured)
	t.mu.Lock()
	defer t.mu.Unlock()
	// evict marks the entry retired before it walks the members, under
	// t.mu: a member made after that walk would never be evicted.
	if e.retired.Load() {
		return errSetRetired
	}
	if v, ok := t.loadLocked(k); ok && !v.retired.Load() {
		return v
	}
	if byAttribute != nil {
		if v, ok := t.loadLocked(byAttribute(attr)); ok && !v.retired.Load() {
			t.storeLocked(k, v)
			return v
		}
	}
	v := new(setValue)
	v.counted.born = b.intervals.now()
	attrs := attribute.NewSet(append([]attribute.KeyValue{attr}, e.set.keyAttrs...)...)
	v.init(b.newCount(journal.KindMember, e.key, captured), e.set.name, attrs, true)
	b.hand.register(&v.series)
	t.storeLocked(k, v)
	if byAttribute != nil {
		t.storeLocked(byAttribute(attr), v)
	}
	return v
}

// Set makes value the value of key, replacing whatever the key held.
func (b *Bridge) Set(key string, value any) {
	captured, ok := b.accept(key, value)
	if !ok {
		return
	}
	// Setting the value a key already holds, before any reader has seen it,
	// changes nothing: done without a lock or a write.
	if e := b.lookup(key, kindValue, true); e != nil && b.unchanged(e.held.value.Load(), captured) {
		return
	}
	b.hold(key, kindValue, captured, func(h *heldState, v *held) bool {
		h.value.Store(v)
		b.journalValue(&h.valueRecord, journal.KindValue, key, "", v)
		return true
	})
}

// unchanged reports whether cur holds v, recorded in this interval and not
// yet reported by any producer.
func (b *Bridge) unchanged(cur *held, v any) bool {
	return cur != nil && cur.v == v && cur.interval == b.intervals.now() && b.intervals.unreported(cur.change)
}

// SetNested makes value the value of subkey inside the object named key.
// The cell of a sub-key already set is written in place, and the value is
// the caller's own box: nothing is allocated for a value that changes on
// every call. A value the sub-key already holds, unseen by any producer,
// is not written again.
func (b *Bridge) SetNested(key, subkey string, value any) {
	captured, ok := b.accept(key, value)
	if !ok {
		return
	}
	b.holdWith(key, kindNested, func(h *heldState) bool {
		c, ok := h.nested[subkey]
		if ok && b.unchanged(&c.cur, captured) {
			return true
		}
		now := b.intervals.now()
		if !ok {
			c = &nestedCell{subkey: subkey}
		}
		if c.counted != now { // a new item in this interval
			if !b.intervals.admitNew() {
				return false
			}
			c.counted = now
		}
		c.cur = held{v: captured, change: b.intervals.nextChange(), interval: now}
		b.journalValue(&c.record, journal.KindNested, key, subkey, &c.cur)
		if !ok {
			h.nested[subkey] = c
		}
		return true
	})
}

// Append adds value to the end of the list named key.
func (b *Bridge) Append(key string, value any) {
	captured, ok := b.accept(key, value)
	if !ok {
		return
	}
	b.hold(key, kindList, captured, func(h *heldState, v *held) bool {
		if !b.intervals.admitNew() {
			return false
		}
		h.list = append(h.list, element{held: *v})
		last := &h.list[len(h.list)-1]
		b.journalValue(&last.record, journal.KindElement, key, "", &last.held)
		return true
	})
}

// accept captures a value for Set, SetNested or Append; ok is false when
// the call must do nothing (after Shutdown, or a value JSON cannot carry,
// which is reported).
func (b *Bridge) accept(key string, value any) (captured any, ok bool) {
	if b.closed.Load() {
		return nil, false
	}
	captured, err := capture(value)
	if err != nil {
		b.misuse(key, fmt.Sprintf("%v; ignored", err))
		return nil, false
	}
	return captured, true
}

// hold records a captured value that producers carry: it finds the key's
// entry and lets store put the value in place under the entry's lock,
// with a fresh change number.
func (b *Bridge) hold(key string, k kind, captured any, store func(*heldState, *held) bool) {
	b.holdWith(key, k, func(h *heldState) bool {
		// The change number is taken under the lock, so that a producer
		// that has seen a later number also sees this value.
		return store(h, &held{v: captured, change: b.intervals.nextChange(), interval: b.intervals.now()})
	})
}

// holdWith finds key's live entry of kind k and runs change under the
// entry's lock.
func (b *Bridge) holdWith(key string, k kind, change func(*heldState) bool) {
	for {
		e := b.lookup(key, k, k == kindValue)
		if e == nil || !b.intervals.admit(&e.counted) {
			return
		}
		h := e.held
		h.mu.Lock()
		if h.retired { // replaced meanwhile: look the key up again
			h.mu.Unlock()
			continue
		}
		change(h)
		h.mu.Unlock()
		return
	}
}
