package bridge

import (
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// countMetrics appends to ms the sums that p has to report: to a delta
// reader (the telemetry reader, or one added with WithDeltaReader) what
// was added since p's previous report; to any other the cumulative sum of
// every series counted since p was made. It returns the points' time,
// taken under the lock, so that no series it reports began after it.
func (b *Bridge) countMetrics(p *producer, ms []metricdata.Metrics) ([]metricdata.Metrics, time.Time) {
	h := &b.hand
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	temporality := metricdata.CumulativeTemporality
	if p.delta {
		temporality = metricdata.DeltaTemporality
	}
	var families countFamilies
	for _, s := range h.all {
		if p.reports(s.sum(p.number)) {
			s.family = families.family(s)
		}
	}
	families.cut(temporality)
	for _, s := range h.all {
		sum := s.sum(p.number)
		if !p.reports(sum) {
			continue
		}
		pt := metricdata.DataPoint[int64]{Attributes: s.attrs, StartTime: s.start, Time: now, Value: sum.value}
		if p.delta {
			pt.StartTime = p.lastReport
			sum.value, sum.counted = 0, false
		} else if pt.StartTime.Before(p.made) {
			pt.StartTime = p.made // its sums hold what was counted since
		}
		sum.unreported = false
		families.place(s, pt)
	}
	p.lastReport = now
	return families.appendTo(ms), now
}

// reports reports whether p has a point to give for a series whose sum
// for p is sum: a delta reader when something was added since its last
// report, another once something was added since p was made.
func (p *producer) reports(sum *readerSum) bool { return sum != nil && sum.counted }

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
	return i
}

// cut makes room for the points counted, every family's in one slice.
func (f *countFamilies) cut(temporality metricdata.Temporality) {
	total := 0
	for _, n := range f.counts {
		total += n
	}
	all := make([]metricdata.DataPoint[int64], 0, total)
	f.sums = make([]metricdata.Sum[int64], len(f.ids))
	for i, n := range f.counts {
		f.sums[i] = metricdata.Sum[int64]{Temporality: temporality, IsMonotonic: f.ids[i].monotonic, DataPoints: all[:0:n]}
		all = all[n:n:cap(all)]
	}
}

// place puts s's point in its family.
func (f *countFamilies) place(s *series, pt metricdata.DataPoint[int64]) {
	f.sums[s.family].DataPoints = append(f.sums[s.family].DataPoints, pt)
}

// appendTo appends the families' metrics to ms.
func (f *countFamilies) appendTo(ms []metricdata.Metrics) []metricdata.Metrics {
	for i, sum := range f.sums {
		ms = append(ms, metricdata.Metrics{Name: f.ids[i].name, Data: sum})
	}
	return ms
}
