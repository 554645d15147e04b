package bridge

import (
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Add adds n to the counter named key; the update carries the sum of the
// amounts since the previous one.
func (b *Bridge) Add(key string, n int) {
	if b.skip(key) {
		return
	}
	e := b.lookup(key, kindCounter, false)
	if e == nil || !b.limit.admit(&e.epoch) {
		return
	}
	if e.counter.add(int64(n)) {
		e.counter.drainTo(e.counter.record)
	}
}

// Increment adds 1 to the counter named key.
func (b *Bridge) Increment(key string) { b.Add(key, 1) }

// AppendUnique counts one more occurrence of value in the counting set
// named key. The value must be usable as a map key; anything else is a
// programming error that is reported and ignored.
func (b *Bridge) AppendUnique(key string, value any) {
	if b.skip(key) {
		return
	}
	if !hashable(value) {
		b.misuse(key, fmt.Sprintf("AppendUnique got a %T, which cannot be a set member; ignored", value))
		return
	}
	e := b.lookup(key, kindSet, false)
	if e == nil || !b.limit.admit(&e.epoch) {
		return
	}
	v := b.setValue(e, value)
	if v == nil || !b.limit.admit(&v.epoch) {
		return
	}
	if v.add(1) {
		v.drainTo(e.set.record(v))
	}
}

// setValue returns the member of e's set for value, creating it on first
// sight with its attribute option.
func (b *Bridge) setValue(e *entry, value any) *setValue {
	if v, ok := e.set.values.Load(value); ok {
		return v.(*setValue)
	}
	captured, err := capture(value)
	if err != nil {
		b.misuse(e.key, fmt.Sprintf("AppendUnique: %v; ignored", err))
		return nil
	}
	fresh := &setValue{option: metric.WithAttributeSet(attribute.NewSet(valueAttribute(captured)))}
	v, _ := e.set.values.LoadOrStore(value, fresh)
	return v.(*setValue)
}

// Set makes value the value of key, replacing whatever the key held.
func (b *Bridge) Set(key string, value any) {
	b.hold(key, kindValue, value, func(h *heldState, v held) bool {
		h.value = v
		return true
	})
}

// SetNested makes value the value of subkey inside the object named key.
func (b *Bridge) SetNested(key, subkey string, value any) {
	b.hold(key, kindNested, value, func(h *heldState, v held) bool {
		if h.nested == nil {
			h.nested = make(map[string]*held)
		}
		cur, ok := h.nested[subkey]
		if !ok || cur.epoch != v.epoch { // a new item in this interval
			if !b.limit.admitNew() {
				return false
			}
		}
		if ok {
			*cur = v
		} else {
			h.nested[subkey] = &v
		}
		return true
	})
}

// Append adds value to the end of the list named key.
func (b *Bridge) Append(key string, value any) {
	b.hold(key, kindList, value, func(h *heldState, v held) bool {
		if !b.limit.admitNew() {
			return false
		}
		h.list = append(h.list, v)
		return true
	})
}

// hold records a value that a producer carries: it captures the value,
// finds the key's entry and lets store put it in place under the entry's
// lock, with a fresh sequence number.
func (b *Bridge) hold(key string, k kind, value any, store func(*heldState, held) bool) {
	if b.skip(key) {
		return
	}
	captured, err := capture(value)
	if err != nil {
		b.misuse(key, fmt.Sprintf("%v; ignored", err))
		return
	}
	for {
		e := b.lookup(key, k, k == kindValue)
		if e == nil || !b.limit.admit(&e.epoch) {
			return
		}
		h := e.held
		h.mu.Lock()
		if h.retired { // replaced meanwhile: look the key up again
			h.mu.Unlock()
			continue
		}
		// The sequence number is taken under the lock, so that a producer
		// that has seen a later number also sees this value.
		store(h, held{v: captured, seq: b.seq.Add(1), epoch: b.limit.current()})
		h.mu.Unlock()
		return
	}
}
