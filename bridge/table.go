package bridge

import (
	"sync"
	"sync/atomic"
)

// table is a map tuned for the recording hot path: lookups read an
// immutable snapshot through an atomic pointer, taking no lock and writing
// no shared memory, so they scale over cores. Keys added since the last
// snapshot wait in a locked overflow map; once lookups have missed the
// snapshot as often as the table has keys, the snapshot is rebuilt to
// include them, so the copy is paid for by the misses it saves.
//
// The bridge keeps one for its entries and one per counting set for the
// members. sync.Map does the same job, but its interface-typed keys cost a
// type hash and an interface comparison on every lookup: with it, an
// AppendUnique of a known value took 39 % more CPU at -cpu 1, and one of a
// fresh string 23 % more at -cpu 2. A map under a sync.RWMutex, whose
// readers all write the lock word, took 16 % more for a known value at
// -cpu 1 and 43 % more at -cpu 2 (BENCHMARKS.md).
type table[K comparable, V any] struct {
	read   atomic.Pointer[map[K]V]
	mu     sync.Mutex
	dirty  map[K]V // keys not in read
	misses int
}

func newTable[K comparable, V any]() *table[K, V] {
	t := &table[K, V]{dirty: make(map[K]V)}
	t.read.Store(&map[K]V{})
	return t
}

// loadFast looks k up in the snapshot only.
func (t *table[K, V]) loadFast(k K) (V, bool) {
	v, ok := (*t.read.Load())[k]
	return v, ok
}

// load looks k up where its newest value is: the overflow map, which
// shadows the snapshot, then the snapshot. It takes the lock, since a
// snapshot hit alone may be a value already replaced.
func (t *table[K, V]) load(k K) (V, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.loadLocked(k)
}

// loadLocked is load for a caller that holds t.mu. Only the overflow map
// can hold a newer value than the snapshot, so it is asked first.
func (t *table[K, V]) loadLocked(k K) (V, bool) {
	if v, ok := t.dirty[k]; ok {
		t.missed()
		return v, true
	}
	v, ok := (*t.read.Load())[k]
	return v, ok
}

// store sets k to v.
func (t *table[K, V]) store(k K, v V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.storeLocked(k, v)
}

// storeLocked sets k to v; t.mu is held. A key present in the snapshot is
// shadowed by the overflow map until the next rebuild.
func (t *table[K, V]) storeLocked(k K, v V) {
	t.dirty[k] = v
	t.missed()
}

func (t *table[K, V]) missed() {
	t.misses++
	if t.misses >= len(*t.read.Load())+len(t.dirty) {
		t.rebuildLocked(nil)
	}
}

// rebuildLocked makes a new snapshot of every key, dropping those for which
// drop says so; t.mu is held.
func (t *table[K, V]) rebuildLocked(drop func(K, V) bool) {
	old := *t.read.Load()
	next := make(map[K]V, len(old)+len(t.dirty))
	for k, v := range old {
		if _, shadowed := t.dirty[k]; !shadowed && (drop == nil || !drop(k, v)) {
			next[k] = v
		}
	}
	for k, v := range t.dirty {
		if drop == nil || !drop(k, v) {
			next[k] = v
		}
	}
	t.read.Store(&next)
	clear(t.dirty)
	t.misses = 0
}

// prune drops the keys for which drop says so. Most sweeps drop nothing,
// and reading every key is far cheaper than copying them all, so the
// snapshot is rebuilt only when some key goes.
func (t *table[K, V]) prune(drop func(K, V) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.anyLocked(drop) {
		t.rebuildLocked(drop)
	}
}

// anyLocked reports whether drop says so of some key; t.mu is held.
func (t *table[K, V]) anyLocked(drop func(K, V) bool) bool {
	for _, m := range []map[K]V{*t.read.Load(), t.dirty} {
		for k, v := range m {
			if drop(k, v) {
				return true
			}
		}
	}
	return false
}

// each calls f for every value: those of the snapshot without a lock,
// then those of the overflow map, copied out under the lock so that f runs
// unlocked. A value the overflow map shadows is passed too: values that
// can be replaced carry their own "retired" mark for f to check.
func (t *table[K, V]) each(f func(V)) {
	t.mu.Lock()
	read := *t.read.Load()
	extra := make([]V, 0, len(t.dirty))
	for _, v := range t.dirty {
		extra = append(extra, v)
	}
	t.mu.Unlock()
	for _, v := range read {
		f(v)
	}
	for _, v := range extra {
		f(v)
	}
}
