package streams

import (
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/internal/journal"
	"github.com/telemetrybridge/telemetry/payload"
)

// BridgeScope is the instrumentation scope of the bridge's instruments
// (bridge.ScopeName, spelled here so that the exporter does not depend on
// the bridge; a test checks that the two agree).
const BridgeScope = "github.com/telemetrybridge/telemetry/bridge"

// streamRecordSize is a stream record's size but for its text: the
// record's header (64 bytes) and its key.
const streamRecordSize = 64 + len(RecordKey)

// RecordKey is the key of every stream's journal record; the
// record's member text says which stream it is (streamDesc). It is not
// UTF-8, which updates' keys are made before they are sent, so no key
// that is ever sent is spelled so. The bridge records under any key its
// host gives, this one too; the claim tells its members from streams by
// their text (IsRecord).
const RecordKey = "\xff\xfenative-stream"

// Table is the table of streams. Its methods run under the
// Reader's collect lock, one at a time.
type Table struct {
	j           *journal.Journal
	instruments map[instrumentID]*instrumentStreams
	// keys counts the metrics that give each key in a checkpoint's
	// collection (countKeys).
	keys map[string]int
	// found is add's list of each point's stream, kept between calls.
	found []*stream
	// used is what the streams' records take of the journal, in bytes
	// before rounding to a record size; budget bounds it (streamBudget).
	used, budget int
}

// streamBudget is the most of the journal that streams take: a quarter,
// within which records (rounded up to their size, at most twice) leave
// the bridge's figures the room the journal was sized for. 16 MiB is
// 65,000 streams of a few attributes; points past it keep the carried
// file.
const streamBudget = journal.Size / 4

// instrumentID names an instrument as collections show it.
type instrumentID struct{ scope, name string }

type instrumentStreams struct {
	monotonic bool
	byAttrs   map[attribute.Distinct]*stream
}

type stream struct {
	count journal.Counted
	attrs attribute.Set
	size  int // its share of used
	// touched is set when a checkpoint added a point (of 0, maybe) since
	// the last drain: the update then carries the point, as it would have
	// carried the checkpoint's.
	touched bool
}

func NewTable(j *journal.Journal) *Table {
	return &Table{j: j, instruments: make(map[instrumentID]*instrumentStreams), budget: streamBudget}
}

// take adds the points of rm's delta integer sums to their streams and
// returns what is left for the carried file: every other metric, the
// bridge's, and the points that have no stream. Metrics whose key is
// disabled are neither taken nor left, as conversion would drop them.
//
// A sum whose key another metric of rm also gives (an instrument of
// another kind, or of another scope, under the same name) is left whole:
// conversion keeps one of them, as it would have without checkpoints,
// where streams would have sent both.
func (s *Table) Take(rm *metricdata.ResourceMetrics, disabled func(string) bool) *metricdata.ResourceMetrics {
	rest := &metricdata.ResourceMetrics{Resource: rm.Resource}
	s.countKeys(rm)
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == BridgeScope {
			rest.ScopeMetrics = append(rest.ScopeMetrics, sm)
			continue
		}
		var left []metricdata.Metrics
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			key := payload.InstrumentNameToKey(m.Name)
			if !ok || sum.Temporality != metricdata.DeltaTemporality || s.keys[key] > 1 {
				left = append(left, m)
				continue
			}
			if disabled(key) {
				continue
			}
			if unkept := s.add(instrumentID{sm.Scope.Name, m.Name}, sum); len(unkept) > 0 {
				sum.DataPoints = unkept
				m.Data = sum
				left = append(left, m)
			}
		}
		if len(left) > 0 {
			sm.Metrics = left
			rest.ScopeMetrics = append(rest.ScopeMetrics, sm)
		}
	}
	return rest
}

// countKeys counts, in s.keys, how many metrics of rm give each key. The
// map is kept from one checkpoint to the next, which saves making it anew.
func (s *Table) countKeys(rm *metricdata.ResourceMetrics) {
	if s.keys == nil {
		s.keys = make(map[string]int)
	}
	clear(s.keys)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			s.keys[payload.InstrumentNameToKey(m.Name)]++
		}
	}
}

// add adds the points of one instrument's sum to their streams, and
// returns those that have none. When the record of a point's set cannot
// spell it (a NaN, text that is not UTF-8), or the set gives a key of its
// own (payload.AttrKey, which conversion splits off), every point is
// returned: conversion judges such a set for the whole key (a NaN drops
// it), and must see all of its points to judge as it would have without
// checkpoints.
func (s *Table) add(id instrumentID, sum metricdata.Sum[int64]) (unkept []metricdata.DataPoint[int64]) {
	in := s.instruments[id]
	if in == nil {
		in = &instrumentStreams{monotonic: sum.IsMonotonic, byAttrs: make(map[attribute.Distinct]*stream)}
		s.instruments[id] = in
	}
	if in.monotonic != sum.IsMonotonic { // two instruments of one name
		return sum.DataPoints
	}
	// Each point's stream is looked up once (the lookup is most of a
	// checkpoint's own cost), into found, which is kept for the next.
	found := s.found[:0]
	var descs map[attribute.Distinct][]byte // of the sets that have no stream yet
	for i := range sum.DataPoints {
		attrs := sum.DataPoints[i].Attributes
		st := in.byAttrs[attrs.Equivalent()]
		found = append(found, st)
		if st == nil {
			desc, ok := describeStream(id, in.monotonic, attrs)
			if !ok || attrs.HasValue(payload.AttrKey) || attrs.HasValue(payload.AttrKeySuffix) {
				s.found = found[:0]
				return sum.DataPoints
			}
			if descs == nil {
				descs = make(map[attribute.Distinct][]byte)
			}
			descs[attrs.Equivalent()] = desc
		}
	}
	s.found = found
	for i, st := range found {
		p := &sum.DataPoints[i]
		if st == nil {
			// a set met twice in one sum has its stream from the first
			if st = in.byAttrs[p.Attributes.Equivalent()]; st == nil {
				st = s.open(id, in, p.Attributes, descs[p.Attributes.Equivalent()])
			}
		}
		if st == nil {
			unkept = append(unkept, *p)
			continue
		}
		st.count.Add(p.Value)
		st.touched = true
	}
	return unkept
}

// open makes the stream of an attribute set, whose record text is desc,
// with its journal record; nil when the record cannot be had.
func (s *Table) open(id instrumentID, in *instrumentStreams, attrs attribute.Set, desc []byte) *stream {
	size := streamRecordSize + len(desc)
	if s.used+size > s.budget {
		return nil
	}
	c, ok := s.j.NewCount(journal.KindMember, RecordKey, journal.TypeJSON, desc)
	if !ok {
		return nil // the journal is full: the carried file keeps the point
	}
	st := &stream{count: c, attrs: attrs, size: size}
	s.used += size
	in.byAttrs[attrs.Equivalent()] = st
	return st
}

// drainInto adds what checkpoints put in the streams since the last drain
// into rm, a collection of the telemetry reader of generation gen, and
// marks every stream with gen: once gen commits, the journal no longer
// counts what was drained. Streams that hold nothing uncommitted and were
// not touched since are freed.
func (s *Table) DrainInto(rm *metricdata.ResourceMetrics, gen uint64) {
	if s == nil {
		return
	}
	now := time.Now()
	for id, in := range s.instruments {
		var pts []metricdata.DataPoint[int64]
		for d, st := range in.byAttrs {
			if !st.touched && s.j.Committed(st.count) {
				s.j.Free(st.count)
				s.used -= st.size
				delete(in.byAttrs, d)
				continue
			}
			n := st.count.Drain()
			s.j.Mark(st.count, gen)
			if st.touched {
				pts = append(pts, metricdata.DataPoint[int64]{Attributes: st.attrs, Time: now, Value: n})
				st.touched = false
			}
		}
		if len(in.byAttrs) == 0 {
			delete(s.instruments, id)
		}
		if len(pts) > 0 {
			addStreamPoints(rm, id, in.monotonic, pts)
		}
	}
}

// addStreamPoints adds the points of an instrument's streams to its delta
// sum in rm, or, when rm has none, puts a sum of them before the scope's
// metrics (so that a newer metric of that name, of another kind, wins, as
// it would over carried figures). Nothing that rm's slices hold is
// changed in place: a producer's metrics are its own.
func addStreamPoints(rm *metricdata.ResourceMetrics, id instrumentID, monotonic bool, pts []metricdata.DataPoint[int64]) {
	fresh := metricdata.Metrics{Name: id.name, Data: metricdata.Sum[int64]{
		Temporality: metricdata.DeltaTemporality, IsMonotonic: monotonic, DataPoints: pts,
	}}
	i := slices.IndexFunc(rm.ScopeMetrics, func(sm metricdata.ScopeMetrics) bool { return sm.Scope.Name == id.scope })
	if i < 0 {
		sm := metricdata.ScopeMetrics{Metrics: []metricdata.Metrics{fresh}}
		sm.Scope.Name = id.scope
		rm.ScopeMetrics = append([]metricdata.ScopeMetrics{sm}, rm.ScopeMetrics...)
		return
	}
	sm := &rm.ScopeMetrics[i]
	for k, m := range sm.Metrics {
		sum, ok := m.Data.(metricdata.Sum[int64])
		if m.Name != id.name || !ok || sum.Temporality != metricdata.DeltaTemporality || sum.IsMonotonic != monotonic {
			continue
		}
		sum.DataPoints = mergePoints(sum.DataPoints, pts)
		sm.Metrics = slices.Clone(sm.Metrics)
		sm.Metrics[k].Data = sum
		return
	}
	sm.Metrics = append([]metricdata.Metrics{fresh}, sm.Metrics...)
}

// mergePoints returns a new slice of the points of cur with those of more
// added: a point of an attribute set that cur has adds to it.
func mergePoints(cur, more []metricdata.DataPoint[int64]) []metricdata.DataPoint[int64] {
	out := slices.Clone(cur)
	at := make(map[attribute.Distinct]int, len(out))
	for i := range out {
		at[out[i].Attributes.Equivalent()] = i
	}
	for _, p := range more {
		if i, ok := at[p.Attributes.Equivalent()]; ok {
			out[i].Value += p.Value
			continue
		}
		at[p.Attributes.Equivalent()] = len(out)
		out = append(out, p)
	}
	return out
}

// IsRecord reports whether f is a native stream's record: a member
// under the streams' key whose text is a JSON object, as a stream's
// description is. The bridge records under any key its host gives, that
// one included, and its members are strings, numbers and booleans (rarely
// JSON objects): one spelled so is the host's own figure, and is sent as
// such, where taking it for a damaged stream would set the whole journal
// aside with every other figure in it.
func IsRecord(f journal.Figure) bool {
	return f.Kind == journal.KindMember && f.Key == RecordKey && strings.HasPrefix(f.Sub, "{")
}
