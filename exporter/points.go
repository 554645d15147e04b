package exporter

import (
	"bytes"
	"slices"

	"go.opentelemetry.io/otel/attribute"

	"github.com/telemetrybridge/telemetry/payload"
)

// attributed holds the points of one key that carry attributes of their
// own. Each point's attributes are written as a JSON object once, into one
// arena; that text is both what the update carries and the key the points
// are sorted by, so that equal data always encodes the same way.
type attributed[P any] struct {
	arena  []byte
	points []withAttrs[P]
}

type withAttrs[P any] struct {
	start, end int // the attributes' JSON in the arena; empty for none
	p          P
}

// add writes set into the arena and appends p with it.
func (a *attributed[P]) add(w *payload.Writer, set attribute.Set, p P) error {
	start := len(a.arena)
	if set.Len() > 0 {
		w.Reset(a.arena)
		if err := writeAttrs(w, set); err != nil {
			return err
		}
		a.arena = w.Bytes()
	}
	a.points = append(a.points, withAttrs[P]{start, len(a.arena), p})
	return nil
}

func (a *attributed[P]) attrsOf(i int) []byte {
	return a.arena[a.points[i].start:a.points[i].end]
}

func (a *attributed[P]) sort() {
	slices.SortFunc(a.points, func(x, y withAttrs[P]) int {
		return bytes.Compare(a.arena[x.start:x.end], a.arena[y.start:y.end])
	})
}

// bare reports whether the key is one point without attributes, which an
// update carries as the object itself rather than a list of one.
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
			w.Name(payload.MemberAttributes)
			w.Encoded(attrs)
		}
		if err := members(w, &a.points[i].p); err != nil {
			return err
		}
		w.EndObject()
	}
	w.EndList()
	return nil
}

func (a *attributed[P]) items() int { return len(a.points) }

// mergeOlder joins the points of an older value with these, combining the
// two points of equal attributes with add (false: the newer replaces).
func (a *attributed[P]) mergeOlder(old *attributed[P], add func(older, newer P) (P, bool)) *attributed[P] {
	out := &attributed[P]{arena: slices.Clone(a.arena), points: slices.Clone(a.points)}
	for i := range old.points {
		attrs := old.attrsOf(i)
		j, found := slices.BinarySearchFunc(a.points, attrs, func(p withAttrs[P], t []byte) int {
			return bytes.Compare(a.arena[p.start:p.end], t)
		})
		if found {
			if sum, ok := add(old.points[i].p, out.points[j].p); ok {
				out.points[j].p = sum
			}
			continue
		}
		start := len(out.arena)
		out.arena = append(out.arena, attrs...)
		out.points = append(out.points, withAttrs[P]{start, len(out.arena), old.points[i].p})
	}
	out.sort()
	return out
}

// sumPoints is the generic shape of sums and gauges with attributes:
// [{"attributes": {...}, "value": n}, ...].
type sumPoints struct{ attributed[payload.Number] }

func (s *sumPoints) write(w *payload.Writer) error {
	w.BeginList()
	for i := range s.points {
		w.BeginObject()
		if attrs := s.attrsOf(i); len(attrs) > 0 {
			w.Name(payload.MemberAttributes)
			w.Encoded(attrs)
		}
		w.Name(payload.MemberValue)
		if err := w.Number(s.points[i].p); err != nil {
			return err
		}
		w.EndObject()
	}
	w.EndList()
	return nil
}

func (s *sumPoints) detach() value       { return s }
func (s *sumPoints) assumedType() string { return payload.MetricTypeGauge }

// mergeOlder adds up the points of two sums with equal attributes.
func (s *sumPoints) mergeOlder(old value, additive bool) (value, bool) {
	prev, same := old.(*sumPoints)
	if !additive || !same {
		return nil, false
	}
	merged := s.attributed.mergeOlder(&prev.attributed, func(o, n payload.Number) (payload.Number, bool) {
		if o.IsFloat != n.IsFloat {
			return n, false
		}
		return payload.Number{Int: o.Int + n.Int, Float: o.Float + n.Float, IsFloat: n.IsFloat}, true
	})
	return &sumPoints{*merged}, true
}

// histograms are explicit-bucket histogram points.
type histograms struct{ attributed[payload.Histogram] }

func (h *histograms) write(w *payload.Writer) error {
	return h.attributed.write(w, func(w *payload.Writer, p *payload.Histogram) error { return p.WriteMembers(w) })
}

func (h *histograms) assumedType() string { return "" }

func (h *histograms) detach() value {
	out := &histograms{attributed[payload.Histogram]{arena: h.arena, points: slices.Clone(h.points)}}
	for i := range out.points {
		p := &out.points[i].p
		p.Bounds, p.BucketCounts = slices.Clone(p.Bounds), slices.Clone(p.BucketCounts)
	}
	return out
}

// mergeOlder adds up points of equal attributes and equal buckets.
func (h *histograms) mergeOlder(old value, additive bool) (value, bool) {
	prev, same := old.(*histograms)
	if !additive || !same {
		return nil, false
	}
	merged := h.attributed.mergeOlder(&prev.attributed, addHistograms)
	return &histograms{*merged}, true
}

func addHistograms(o, n payload.Histogram) (payload.Histogram, bool) {
	if !slices.Equal(o.Bounds, n.Bounds) || len(o.BucketCounts) != len(n.BucketCounts) || o.Sum.IsFloat != n.Sum.IsFloat {
		return n, false
	}
	sum := n
	sum.BucketCounts = slices.Clone(n.BucketCounts)
	for i := range sum.BucketCounts {
		sum.BucketCounts[i] += o.BucketCounts[i]
	}
	sum.Count += o.Count
	sum.Sum = payload.Number{Int: o.Sum.Int + n.Sum.Int, Float: o.Sum.Float + n.Sum.Float, IsFloat: n.Sum.IsFloat}
	sum.Min, sum.HasMin = extreme(o.Min, o.HasMin, n.Min, n.HasMin, -1)
	sum.Max, sum.HasMax = extreme(o.Max, o.HasMax, n.Max, n.HasMax, 1)
	return sum, true
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

// expHistograms are exponential histogram points. They are not merged:
// two of them rarely share a scale.
type expHistograms struct {
	attributed[payload.ExpHistogram]
}

func (h *expHistograms) write(w *payload.Writer) error {
	return h.attributed.write(w, func(w *payload.Writer, p *payload.ExpHistogram) error { return p.WriteMembers(w) })
}

func (h *expHistograms) assumedType() string                  { return "" }
func (h *expHistograms) mergeOlder(value, bool) (value, bool) { return nil, false }

func (h *expHistograms) detach() value {
	out := &expHistograms{attributed[payload.ExpHistogram]{arena: h.arena, points: slices.Clone(h.points)}}
	for i := range out.points {
		p := &out.points[i].p
		p.Positive.Counts, p.Negative.Counts = slices.Clone(p.Positive.Counts), slices.Clone(p.Negative.Counts)
	}
	return out
}

// summaries are summary points; quantiles cannot be added up.
type summaries struct{ attributed[payload.Summary] }

func (s *summaries) write(w *payload.Writer) error {
	return s.attributed.write(w, func(w *payload.Writer, p *payload.Summary) error { return p.WriteMembers(w) })
}

func (s *summaries) assumedType() string                  { return "" }
func (s *summaries) mergeOlder(value, bool) (value, bool) { return nil, false }

func (s *summaries) detach() value {
	out := &summaries{attributed[payload.Summary]{arena: s.arena, points: slices.Clone(s.points)}}
	for i := range out.points {
		out.points[i].p.Quantiles = slices.Clone(out.points[i].p.Quantiles)
	}
	return out
}
