package bridge

import (
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/internal/journal"
)

// series is one count of the bridge as readers see it: a counter key, or
// one member of a counting set, under its metric name and attributes.
//
// Recording adds to the series' tally, a journal.Counted: one atomic add,
// no lock, kept in the journal when there is one so that a count whose
// call returned outlives the process. Collections drain the tallies into
// each reader's sum (handover.moveCounts), and each reader's producer
// reports its sums: the telemetry reader's as deltas since its previous
// collection, the others' as cumulative sums since the series began.
//
// Why the bridge does not feed SDK instruments: a delta aggregation starts
// empty at each collection, so the SDK made each series anew every
// update, one allocation and one sync.Map insert per counting-set member;
// with it, an update of 10,000 members and 1,000 counters took 2.2 times
// the baseline's time, a third of it in the SDK (BENCHMARKS.md, Update).
// The sums below are plain integers under the handover's lock.
//
// Sums wrap around as Go's int64 does: Add(k, math.MaxInt) then Add(k, 1)
// sends math.MinInt64, the value an int counter would hold.
type series struct {
	journal.Counted // the tally

	name      string        // the metric
	attrs     attribute.Set // what tells the series apart within it
	monotonic bool          // a counting set's member: its sums only grow
	start     time.Time     // when the series began, for cumulative sums

	// addedZero is set by Add(k, 0): the key is in the update with 0,
	// which a tally cannot tell from no call at all.
	addedZero atomic.Bool
	// evicted is the update interval in which the key or member was let
	// go, 0 while it is live. The tally is still drained after, since a
	// call that found it just before may add to it; it is freed once the
	// interval of the eviction has ended and its last figures are
	// committed. A call would have to be suspended between finding its key
	// and adding to it for a whole update interval (a second at the
	// least, an hour usually) for its add to be lost, or, once the journal
	// record is reused, to be counted under the key that reuses it.
	evicted atomic.Uint64

	// The sums of the producers, by producer number (see producer.number):
	// the telemetry reader's, the first, inline, since most programs have
	// no other reader. Under the handover's mu.
	first readerSum
	more  []readerSum

	next   *series // in the handover's list of new series
	family int     // the series' metric in the report under way (countFamilies)
}

// readerSum is what one reader has not been told (deltas) or the total
// since the series began (cumulative sums).
type readerSum struct {
	value int64
	has   bool // something was added since the series began or, for deltas, since the last report
}

// init makes s a new series with tally c.
func (s *series) init(c journal.Counted, name string, attrs attribute.Set, monotonic bool) {
	s.Counted, s.name, s.attrs, s.monotonic, s.start = c, name, attrs, monotonic, time.Now()
}

// add records n: one atomic add, whatever n is.
func (s *series) add(n int64) { s.Add(n) }

// sum returns producer i's sum, or nil when nothing was added to it.
// h.mu is held.
func (s *series) sum(i int) *readerSum {
	if i == 0 {
		return &s.first
	}
	if i-1 < len(s.more) {
		return &s.more[i-1]
	}
	return nil
}

// addToReaders adds n to the sums of the first readers producers. h.mu
// is held.
func (s *series) addToReaders(n int64, readers int) {
	s.first.value += n
	s.first.has = true
	for len(s.more) < readers-1 {
		s.more = append(s.more, readerSum{})
	}
	for i := range s.more[:max(readers-1, 0)] {
		s.more[i].value += n
		s.more[i].has = true
	}
}

// countFamilies gathers series into one metric per name and kind, as the
// SDK did with one instrument per name: the keys of a family become
// points of one metric. A report counts the points of each family first
// (family), then places them (place) in one slice cut to size: appending
// to a slice per family grew and copied the points of a large counting set
// over and over, which took a third of an update's time.
type countFamilies struct {
	ids    []countFamily
	sums   []metricdata.Sum[int64]
	counts []int
	at     map[countFamily]int
	// evicted counts the evicted series among the points; only then can
	// two series give the same point, found in points (see place).
	evicted int
	points  map[pointID]int
	// last and lastAt are the family of the previous series: the members
	// of a counting set mostly come one after another.
	last   countFamily
	lastAt int
}

type countFamily struct {
	name      string
	monotonic bool
}

// family returns the number of s's family, counting one more point in it.
func (f *countFamilies) family(s *series) int {
	id := countFamily{name: s.name, monotonic: s.monotonic}
	i, seen := f.lastAt, len(f.ids) > 0 && id == f.last
	if !seen {
		i, seen = f.at[id]
	}
	if !seen {
		if f.at == nil {
			f.at = make(map[countFamily]int)
		}
		i = len(f.ids)
		f.at[id] = i
		f.ids = append(f.ids, id)
		f.counts = append(f.counts, 0)
	}
	f.last, f.lastAt = id, i
	f.counts[i]++
	if s.evicted.Load() != 0 {
		f.evicted++
	}
	return i
}

// cut makes room for the points counted, every family's in one slice.
func (f *countFamilies) cut(temporality metricdata.Temporality) {
	total := 0
	for _, n := range f.counts {
		total += n
	}
	all := make([]metricdata.DataPoint[int64], 0, total)
	if f.evicted > 0 {
		f.points = make(map[pointID]int, total)
	}
	f.sums = make([]metricdata.Sum[int64], len(f.ids))
	for i, n := range f.counts {
		f.sums[i] = metricdata.Sum[int64]{Temporality: temporality, IsMonotonic: f.ids[i].monotonic, DataPoints: all[:0:n]}
		all = all[n:n:cap(all)]
	}
}

// place puts s's point in its family. An evicted series and the one that
// replaced it carry the same key, and so the same attributes; their points
// are one, as they would be in an SDK instrument: two points with equal
// attributes would read as two series to a backend, and the exporter would
// send them as a list of points instead of the key's number.
func (f *countFamilies) place(s *series, pt metricdata.DataPoint[int64]) {
	pts := &f.sums[s.family].DataPoints
	if f.evicted > 0 {
		id := pointID{s.family, s.attrs.Equivalent()}
		if at, ok := f.points[id]; ok {
			(*pts)[at].Value += pt.Value
			if pt.StartTime.Before((*pts)[at].StartTime) {
				(*pts)[at].StartTime = pt.StartTime
			}
			return
		}
		f.points[id] = len(*pts)
	}
	*pts = append(*pts, pt)
}

// pointID tells the points of a report apart.
type pointID struct {
	family int
	attrs  attribute.Distinct
}

// appendTo appends the families' metrics to ms.
func (f *countFamilies) appendTo(ms []metricdata.Metrics) []metricdata.Metrics {
	for i, sum := range f.sums {
		ms = append(ms, metricdata.Metrics{Name: f.ids[i].name, Data: sum})
	}
	return ms
}
