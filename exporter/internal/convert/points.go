package convert

import (
	"bytes"
	"slices"
	"sort"

	"go.opentelemetry.io/otel/attribute"

	"github.com/telemetrybridge/telemetry/payload"
)

// attributed holds the points of one key that carry attributes of their
// own. Each point's attributes are written as a JSON object once, into one
// arena; that text is both what the update carries and, when an older
// value is merged in, the key by which points of equal attributes are
// matched. Points keep the order the SDK gave them: the protocol gives a
// list of points no order, and sorting every export cost a tenth of it.
type attributed[P any] struct {
	arena  []byte
	points []attributedPoint[P]
}

type attributedPoint[P any] struct {
	start, end int // the attributes' JSON in the arena; empty for none
	p          P
}

// add writes the attributes kvs into the converter's arena and appends p
// with them. Once every point is added, seal takes the value's part of the
// arena.
func (a *attributed[P]) add(c *Converter, kvs []attribute.KeyValue, p P) error {
	start := len(c.arena)
	if len(kvs) > 0 {
		c.w.Reset(c.arena)
		if err := c.writeAttrs(kvs); err != nil {
			return err
		}
		c.arena = c.w.Bytes()
	}
	a.points = append(a.points, attributedPoint[P]{start: start, end: len(c.arena), p: p})
	return nil
}

// seal makes the value's arena the part of the converter's that its points
// wrote. The converter reuses its arena for the next
// update: a value kept longer is detached.
func (a *attributed[P]) seal(c *Converter) {
	if len(a.points) == 0 {
		return
	}
	base := a.points[0].start
	for i := range a.points {
		a.points[i].start -= base
		a.points[i].end -= base
	}
	a.arena = c.arena[base:len(c.arena):len(c.arena)]
}

// detached is a copy of a whose memory is its own: the arena, and the
// slices that clone says a point holds.
func (a *attributed[P]) detached(clone func(*P)) attributed[P] {
	out := attributed[P]{arena: slices.Clone(a.arena), points: slices.Clone(a.points)}
	for i := range out.points {
		clone(&out.points[i].p)
	}
	return out
}

func (a *attributed[P]) attrsOf(i int) []byte {
	return a.arena[a.points[i].start:a.points[i].end]
}

// sort orders the points by their attributes' JSON, for mergeOlder's
// binary search.
func (a *attributed[P]) sort() {
	slices.SortFunc(a.points, func(x, y attributedPoint[P]) int {
		return bytes.Compare(a.arena[x.start:x.end], a.arena[y.start:y.end])
	})
}

// bare reports whether the key is one point without attributes, which an
// update carries as the object itself rather than a list of one. (A sum or
// gauge of one such point is a number, never attributed.)
func (a *attributed[P]) bare() bool {
	return len(a.points) == 1 && a.points[0].end == a.points[0].start
}

// write writes each point as an object: its attributes, when it has any,
// then the members that members writes.
func (a *attributed[P]) write(w *payload.Writer, members func(*payload.Writer, *P) error) error {
	if a.bare() {
		w.BeginObject()
		if err := members(w, &a.points[0].p); err != nil {
			return err
		}
		w.EndObject()
		return nil
	}
	w.BeginList()
	for i := range a.points {
		w.BeginObject()
		if attrs := a.attrsOf(i); len(attrs) > 0 {
			w.PointAttributes(attrs)
		}
		if err := members(w, &a.points[i].p); err != nil {
			return err
		}
		w.EndObject()
	}
	w.EndList()
	return nil
}

func (a *attributed[P]) Items() int { return len(a.points) }

// mergeOlder joins the points of an older value with these, combining the
// two points of equal attributes with add. When add cannot (false), the
// newer point stays and the older is lost: lost counts those.
func (a *attributed[P]) mergeOlder(old *attributed[P], add func(older, newer P) (P, bool)) (merged *attributed[P], lost int) {
	a.sort()
	out := &attributed[P]{arena: slices.Clone(a.arena), points: slices.Clone(a.points)}
	for i := range old.points {
		attrs := old.attrsOf(i)
		j, found := slices.BinarySearchFunc(a.points, attrs, func(p attributedPoint[P], t []byte) int {
			return bytes.Compare(a.arena[p.start:p.end], t)
		})
		if found {
			if sum, ok := add(old.points[i].p, out.points[j].p); ok {
				out.points[j].p = sum
			} else {
				lost++
			}
			continue
		}
		start := len(out.arena)
		out.arena = append(out.arena, attrs...)
		out.points = append(out.points, attributedPoint[P]{start: start, end: len(out.arena), p: old.points[i].p})
	}
	return out, lost
}

// sumPoints is the generic shape of sums and gauges with attributes:
// [{"attributes": {...}, "value": n}, ...].
type sumPoints struct{ attributed[payload.Number] }

func (s *sumPoints) Write(w *payload.Writer) error {
	return s.attributed.write(w, func(w *payload.Writer, n *payload.Number) error {
		return w.PointValue(*n)
	})
}

func (s *sumPoints) Detach() Value {
	return &sumPoints{s.detached(func(*payload.Number) {})}
}
func (s *sumPoints) assumedType() string { return payload.MetricTypeGauge }

// bareSumPoints is the one point without attributes that a number is, for
// merging with points of the same key.
func bareSumPoints(n payload.Number) *sumPoints {
	return &sumPoints{attributed[payload.Number]{points: []attributedPoint[payload.Number]{{p: n}}}}
}

// mergeOlder adds up the points of two sums with equal attributes (an
// integer and a float as a float); of a gauge's, the newer point stays.
// Points of attributes in only one of them are kept either way. An older
// number is the point without attributes.
func (s *sumPoints) mergeOlder(old Value, additive bool) (Value, int, bool) {
	var prev *sumPoints
	switch o := old.(type) {
	case *sumPoints:
		prev = o
	case *number:
		prev = bareSumPoints(payload.Number(*o))
	default:
		return nil, 0, false
	}
	merged, _ := s.attributed.mergeOlder(&prev.attributed, func(o, n payload.Number) (payload.Number, bool) {
		if !additive {
			return n, true
		}
		return addNumbers(o, n), true
	})
	// One key's points are all integers or all floats, as the spool
	// keeps them (storedKind).
	if slices.ContainsFunc(merged.points, func(p attributedPoint[payload.Number]) bool { return p.p.IsFloat }) {
		for i := range merged.points {
			merged.points[i].p = addNumbers(merged.points[i].p, payload.FloatNumber(0))
		}
	}
	return &sumPoints{*merged}, 0, true
}

// histograms are explicit-bucket histogram points.
type histograms struct{ attributed[payload.Histogram] }

func (h *histograms) Write(w *payload.Writer) error {
	return h.attributed.write(w, func(w *payload.Writer, p *payload.Histogram) error { return p.WriteMembers(w) })
}

func (h *histograms) assumedType() string { return "" }

func (h *histograms) Detach() Value {
	return &histograms{h.detached(func(p *payload.Histogram) {
		p.Bounds, p.BucketCounts = slices.Clone(p.Bounds), slices.Clone(p.BucketCounts)
	})}
}

// mergeOlder adds up points of equal attributes (see addHistograms).
func (h *histograms) mergeOlder(old Value, additive bool) (Value, int, bool) {
	prev, same := old.(*histograms)
	if !additive || !same {
		return nil, 0, false
	}
	merged, _ := h.attributed.mergeOlder(&prev.attributed, func(o, n payload.Histogram) (payload.Histogram, bool) {
		return addHistograms(o, n), true
	})
	// One key's sums are all integers or all floats (see sumPoints).
	if slices.ContainsFunc(merged.points, func(p attributedPoint[payload.Histogram]) bool { return p.p.Sum.IsFloat }) {
		for i := range merged.points {
			p := &merged.points[i].p
			p.Sum = addNumbers(p.Sum, payload.FloatNumber(0))
			if p.HasMin {
				p.Min = addNumbers(p.Min, payload.FloatNumber(0))
			}
			if p.HasMax {
				p.Max = addNumbers(p.Max, payload.FloatNumber(0))
			}
		}
	}
	return &histograms{*merged}, 0, true
}

// addHistograms adds up two histograms of one attribute set. Count, sum,
// min and max are exact. When the bounds are equal, so are the buckets.
// When they changed (a view was changed between the two), the older
// histogram is re-bucketed into the newer's bounds: each older bucket
// counts into the newer bucket that holds its upper bound, so a figure is
// never placed below a bound it may have exceeded (quantiles read from the
// result err upward, never down). That is exact when every older bucket
// lies within one newer bucket, as when bounds were only taken away.
func addHistograms(o, n payload.Histogram) payload.Histogram {
	sum := n
	sum.BucketCounts = slices.Clone(n.BucketCounts)
	if slices.Equal(o.Bounds, n.Bounds) && len(o.BucketCounts) == len(n.BucketCounts) {
		for i := range sum.BucketCounts {
			sum.BucketCounts[i] += o.BucketCounts[i]
		}
	} else if last := len(sum.BucketCounts) - 1; last >= 0 {
		for i, c := range o.BucketCounts {
			j := last // the older overflow bucket, or past malformed bounds
			if i < len(o.Bounds) {
				j = min(sort.SearchFloat64s(n.Bounds, o.Bounds[i]), last)
			}
			sum.BucketCounts[j] += c
		}
	}
	sum.Count += o.Count
	sum.Sum = addNumbers(o.Sum, n.Sum)
	sum.Min, sum.HasMin = extreme(o.Min, o.HasMin, n.Min, n.HasMin, -1)
	sum.Max, sum.HasMax = extreme(o.Max, o.HasMax, n.Max, n.HasMax, 1)
	return sum
}

// extreme picks the smaller (sign -1) or larger (sign 1) of two optional
// extrema.
func extreme(a payload.Number, hasA bool, b payload.Number, hasB bool, sign float64) (payload.Number, bool) {
	switch {
	case !hasA:
		return b, hasB
	case !hasB:
		return a, true
	}
	if sign*(asFloat(a)-asFloat(b)) > 0 {
		return a, true
	}
	return b, true
}

func asFloat(n payload.Number) float64 {
	if n.IsFloat {
		return n.Float
	}
	return float64(n.Int)
}

// expHistograms are exponential histogram points.
type expHistograms struct {
	attributed[payload.ExpHistogram]
}

func (h *expHistograms) Write(w *payload.Writer) error {
	return h.attributed.write(w, func(w *payload.Writer, p *payload.ExpHistogram) error { return p.WriteMembers(w) })
}

func (h *expHistograms) assumedType() string { return "" }

// mergeOlder adds up points of equal attributes (see addExpHistograms).
// Exponential histograms are delta by the exporter's temporality, so they
// add up whatever their entry says.
func (h *expHistograms) mergeOlder(old Value, _ bool) (Value, int, bool) {
	prev, same := old.(*expHistograms)
	if !same {
		return nil, 0, false
	}
	merged, _ := h.attributed.mergeOlder(&prev.attributed, func(o, n payload.ExpHistogram) (payload.ExpHistogram, bool) {
		return addExpHistograms(o, n), true
	})
	return &expHistograms{*merged}, 0, true
}

func (h *expHistograms) Detach() Value {
	return &expHistograms{h.detached(func(p *payload.ExpHistogram) {
		p.Positive.Counts, p.Negative.Counts = slices.Clone(p.Positive.Counts), slices.Clone(p.Negative.Counts)
	})}
}

// summaries are summary points; quantiles cannot be added up.
type summaries struct{ attributed[payload.Summary] }

func (s *summaries) Write(w *payload.Writer) error {
	return s.attributed.write(w, func(w *payload.Writer, p *payload.Summary) error { return p.WriteMembers(w) })
}

func (s *summaries) assumedType() string { return "" }

// mergeOlder keeps the points of both; of two with equal attributes, whose
// quantiles cannot be added up, the newer stays and the older is lost
// (counted by the caller as dropped).
func (s *summaries) mergeOlder(old Value, _ bool) (Value, int, bool) {
	prev, same := old.(*summaries)
	if !same {
		return nil, 0, false
	}
	merged, lost := s.attributed.mergeOlder(&prev.attributed, func(_, n payload.Summary) (payload.Summary, bool) {
		return n, false
	})
	return &summaries{*merged}, lost, true
}

func (s *summaries) Detach() Value {
	return &summaries{s.detached(func(p *payload.Summary) { p.Quantiles = slices.Clone(p.Quantiles) })}
}
