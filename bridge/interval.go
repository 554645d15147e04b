package bridge

import (
	"sync/atomic"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

// MaxItems is how many items the bridge keeps between two updates. An item
// is a top-level key, a nested sub-key, a list element or a distinct value
// of a counting set. Past the limit new items are dropped and counted;
// items already kept still update.
const MaxItems = payload.MaxItems

// A producer that stopped producing must not make the bridge keep figures
// for it, so it stalls: it no longer holds back values or evicted series
// from being let go. Readers collect on their own clock (a Prometheus
// scrape, a PeriodicReader's minute), which may be slower than the
// server's update interval, and Reset and ForceFlush end intervals as fast
// as they are called; so a producer stalls only once it is stalledAfter
// intervals and stalledAfterTime behind. The series kept for producers
// that have not stalled are bounded apart (maxWaitingForReaders).
//
// Held values have no such bound of their own (a list may hold MaxItems
// elements each interval), so they are not kept for a producer
// heldFor intervals behind, whatever the time (farBehind): a reader that
// collects seldom then sees a value only if it was set within the last
// heldFor intervals.
const (
	stalledAfter     = 2
	stalledAfterTime = 10 * time.Minute
	heldFor          = 16
)

// intervals is the bridge's clock: the one place that says which update a
// figure belongs to and what the readers have seen. Two counts run in it.
//
// The update interval runs from one collection of the telemetry reader to
// the next; a checkpoint collects without ending it. Intervals are
// numbered from 1, so that a zero stamp never passes for the current one.
//
//	current    the interval under way; the telemetry reader's producer
//	           moves it on (Bridge.endInterval) once it has reported
//	items      the items counted in the current interval: each key,
//	           sub-key, list element and counting-set member once, however
//	           often it is recorded
//	dropped    the new items refused in it past MaxItems; the update that
//	           ends the interval reports them
//
// The change number orders the changes of held values (Set, SetNested,
// Append) across intervals, so that each reader's producer reports each
// change once:
//
//	changes    the number given to the latest change, under its key's lock
//	reported   the highest change number some producer has reported; a
//	           value numbered above it has reached no reader yet
//
// The stamps that are read against the clock live with what they stamp:
//
//	stamp              an entry's, a counting-set member's: the interval in
//	                   which the item was last counted. Equal to current,
//	                   it is not counted again; behind by two (and made two
//	                   intervals ago or more), the item was idle for a
//	                   whole interval and the sweep lets it go.
//	                   A nested cell and a held value carry the same
//	                   number as a plain field, under their key's lock.
//	position           a producer's: the last change it reported and the
//	                   interval and time of its latest Produce; held
//	                   values every producer has reported are let go, and
//	                   a producer that stalled (stalledAfter) holds none
//	                   back
//	series.evicted     the interval of an eviction: the tally is drained
//	                   until a later interval began, evictionGrace
//	                   passed, nothing is left to drain, its figures are
//	                   committed and the producers that have not stalled
//	                   reported it (up to maxWaitingForReaders series)
//
// Two numbers that look alike are not the clock's: a collection's
// generation (handover.gen) numbers the telemetry reader's collections for
// the journal, checkpoints included; an entry's filterVersion is the key
// filter's version when the key was last found enabled, and moves with the
// server's list of disabled keys.
type intervals struct {
	current  atomic.Uint64
	items    atomic.Int64
	dropped  atomic.Int64
	changes  atomic.Uint64
	reported atomic.Uint64
}

// stamp is the interval in which an item was last counted (see intervals),
// and the one in which it was made (born): an item is not idle before it
// has lived a whole interval, even if the call that made it has not
// counted it yet.
type stamp struct {
	atomic.Uint64
	born uint64 // set before the item is published
}

// last is the latest of the interval of the last count and that of birth.
func (s *stamp) last() uint64 { return max(s.Load(), s.born) }

// position is how far a producer has reported (see intervals).
type position struct {
	change   atomic.Uint64 // the last change reported
	interval atomic.Uint64 // the interval of the latest Produce
	at       atomic.Int64  // when it was, in Unix nanoseconds
}

func newIntervals() *intervals {
	c := &intervals{}
	c.current.Store(1)
	return c
}

// now returns the current interval's number.
func (c *intervals) now() uint64 { return c.current.Load() }

// admit counts the item stamped s, unless it was already counted in this
// interval, and reports whether it may be kept.
func (c *intervals) admit(s *stamp) bool {
	cur := c.current.Load()
	old := s.Load()
	if old == cur {
		return true
	}
	if !s.CompareAndSwap(old, cur) {
		return true // another goroutine counted it just now
	}
	if c.items.Add(1) > MaxItems {
		c.items.Add(-1)
		s.CompareAndSwap(cur, old)
		c.dropped.Add(1)
		return false
	}
	return true
}

// admitNew counts an item that has no stamp of its own (a list element).
func (c *intervals) admitNew() bool {
	if c.items.Add(1) > MaxItems {
		c.items.Add(-1)
		c.dropped.Add(1)
		return false
	}
	return true
}

// full reports whether no new item fits in this interval, counting the
// one that asked as dropped. Callers check it before they build anything
// for a new key or value.
func (c *intervals) full() bool {
	if c.items.Load() < MaxItems {
		return false
	}
	c.dropped.Add(1)
	return true
}

// advance starts a new interval and returns how many items the one that
// ended dropped.
func (c *intervals) advance() (dropped int64) {
	c.current.Add(1)
	c.items.Store(0)
	return c.dropped.Swap(0)
}

// idle reports whether an item last counted in interval at sat out the
// whole previous interval.
func (c *intervals) idle(at uint64) bool { return at+1 < c.now() }

// nextChange numbers a change of a held value; the caller holds the key's
// lock, so that a producer that has seen a number has seen the change.
func (c *intervals) nextChange() uint64 { return c.changes.Add(1) }

// lastChange is the number of the latest change.
func (c *intervals) lastChange() uint64 { return c.changes.Load() }

// unreported reports whether the change numbered n has reached no reader.
func (c *intervals) unreported(n uint64) bool { return n > c.reported.Load() }

// produced records that p reported every change up to upto.
func (c *intervals) produced(p *position, upto uint64) {
	p.change.Store(upto)
	p.started(c.now())
	for {
		cur := c.reported.Load()
		if upto <= cur || c.reported.CompareAndSwap(cur, upto) {
			return
		}
	}
}

// started sets p's latest Produce to now, in interval.
func (p *position) started(interval uint64) {
	p.interval.Store(interval)
	p.at.Store(time.Now().UnixNano())
}

// farBehind reports whether p is more than heldFor intervals behind.
func (c *intervals) farBehind(p *position) bool {
	return c.now()-min(p.interval.Load(), c.now()) > heldFor
}

// stalled reports whether p has stopped producing (see stalledAfter).
func (c *intervals) stalled(p *position) bool {
	behind := c.now() - min(p.interval.Load(), c.now())
	idle := time.Duration(time.Now().UnixNano() - p.at.Load())
	return behind > stalledAfter && idle > stalledAfterTime
}
