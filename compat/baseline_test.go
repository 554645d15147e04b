package compat

import (
	"fmt"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/telemetrybridge/telemetry/payload"
)

// baseline is the documented package's design done straightforwardly, to
// measure against: one mutex over one map, a disabled-key check under an
// RWMutex (with the part before a colon), and the same item limit.
type baseline struct {
	mu    sync.Mutex
	buf   map[string]any
	items int

	disabledMu sync.RWMutex
	disabled   map[string]struct{}
}

const baselineMaxItems = 100_000

func newBaseline(disabled ...string) *baseline {
	b := &baseline{buf: make(map[string]any), disabled: make(map[string]struct{})}
	for _, k := range disabled {
		b.disabled[k] = struct{}{}
	}
	return b
}

func (b *baseline) isDisabled(key string) bool {
	b.disabledMu.RLock()
	defer b.disabledMu.RUnlock()
	if _, ok := b.disabled[key]; ok {
		return true
	}
	if i := strings.IndexByte(key, ':'); i >= 0 {
		_, ok := b.disabled[key[:i]]
		return ok
	}
	return false
}

// newItem counts one item; b.mu is held.
func (b *baseline) newItem() bool {
	if b.items >= baselineMaxItems {
		return false
	}
	b.items++
	return true
}

func (b *baseline) Add(key string, n int) {
	if b.isDisabled(key) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.buf[key]
	if !ok {
		if b.newItem() {
			b.buf[key] = n
		}
		return
	}
	if cur, isInt := v.(int); isInt {
		b.buf[key] = cur + n
	}
}

func (b *baseline) Increment(key string) { b.Add(key, 1) }

func (b *baseline) Set(key string, v any) {
	if b.isDisabled(key) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.buf[key]; !ok && !b.newItem() {
		return
	}
	b.buf[key] = v
}

func (b *baseline) SetNested(key, sub string, v any) {
	if b.isDisabled(key) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m, ok := b.buf[key].(map[string]any)
	if !ok {
		if _, exists := b.buf[key]; exists || !b.newItem() {
			return
		}
		m = make(map[string]any)
		b.buf[key] = m
	}
	if _, ok := m[sub]; !ok && !b.newItem() {
		return
	}
	m[sub] = v
}

func (b *baseline) AppendUnique(key string, v any) {
	if b.isDisabled(key) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	set, ok := b.buf[key].(payload.CountingSet)
	if !ok {
		if _, exists := b.buf[key]; exists || !b.newItem() {
			return
		}
		set = make(payload.CountingSet)
		b.buf[key] = set
	}
	if _, ok := set[v]; !ok && !b.newItem() {
		return
	}
	set[v]++
}

// FastHash is the original's: hash/fnv, then fmt's hex. The tests check
// this package's FastHash against it.
func (b *baseline) FastHash(input []byte) string {
	h := fnv.New32a()
	_, _ = h.Write(input)
	return fmt.Sprintf("%x", h.Sum32())
}

// payload empties the buffer into a payload, as the original did before
// each update.
func (b *baseline) payload(id string) payload.Payload {
	b.mu.Lock()
	defer b.mu.Unlock()
	data := make(map[string]any, len(b.buf))
	for k, v := range b.buf {
		data[k] = v
	}
	b.buf = make(map[string]any)
	b.items = 0
	return payload.Payload{InstanceID: id, Data: data}
}
