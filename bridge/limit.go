package bridge

import (
	"sync/atomic"

	"github.com/telemetrybridge/telemetry/payload"
)

// MaxItems is how many items the bridge keeps between two updates. An item
// is a top-level key, a nested sub-key, a list element or a distinct value
// of a counting set. Past the limit new items are dropped and counted;
// items already kept still update.
const MaxItems = payload.MaxItems

// limiter counts the items of the current update interval. An interval
// ends each time the telemetry reader collects. Intervals are numbered from
// 1, so that a zero marker never passes for the current one.
type limiter struct {
	epoch   atomic.Uint64
	items   atomic.Int64
	dropped atomic.Int64
}

// admit counts the item whose interval marker is at, unless it was already
// counted in this interval.
func (l *limiter) admit(at *atomic.Uint64) bool {
	cur := l.epoch.Load()
	old := at.Load()
	if old == cur {
		return true
	}
	if !at.CompareAndSwap(old, cur) {
		return true // another goroutine counted it just now
	}
	if l.items.Add(1) > MaxItems {
		l.items.Add(-1)
		at.CompareAndSwap(cur, old)
		l.dropped.Add(1)
		return false
	}
	return true
}

// admitNew counts an item that has no marker of its own (a list element).
func (l *limiter) admitNew() bool {
	if l.items.Add(1) > MaxItems {
		l.items.Add(-1)
		l.dropped.Add(1)
		return false
	}
	return true
}

// full reports whether no new item fits in this interval, counting the
// one that asked as dropped. Callers check it before they build anything
// for a new key or value.
func (l *limiter) full() bool {
	if l.items.Load() < MaxItems {
		return false
	}
	l.dropped.Add(1)
	return true
}

// advance starts a new interval and returns how many items the one that
// ended dropped.
func (l *limiter) advance() (dropped int64) {
	l.epoch.Add(1)
	l.items.Store(0)
	return l.dropped.Swap(0)
}

// current returns the current interval's number.
func (l *limiter) current() uint64 { return l.epoch.Load() }

func newLimiter() *limiter {
	l := &limiter{}
	l.epoch.Store(1)
	return l
}
