package exporter

import (
	"encoding/json"
	"slices"
	"sync"
)

// MaxItems bounds what one update carries, the figures carried over from
// failed updates included: a top-level key, an element of a list, a
// member of an object or of a counting set, or a point each count as one.
const MaxItems = 100_000

// KeyDropped is the key under which an update says how many items were
// dropped to keep it within MaxItems (by the bridge's limit, or when
// carrying the figures of failed updates). It is absent when nothing was.
const KeyDropped = "telemetry.dropped_items"

// carryOver keeps the figures of an update that could not be delivered,
// so that the next update carries them: counts add up, counting sets
// merge, lists keep their order, values keep the newest.
type carryOver struct {
	mu      sync.Mutex
	entries []keyed
}

// take returns what is carried and forgets it.
func (c *carryOver) take() []keyed {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.entries
	c.entries = nil
	return out
}

// keep stores entries of a failed update, copied out of the collection
// they came from (the SDK reuses it).
func (c *carryOver) keep(entries []keyed) {
	kept := make([]keyed, 0, len(entries))
	for _, en := range entries {
		if en.key == KeyGoroutines || en.key == KeyMemory {
			continue // measured anew for every update
		}
		en.value = detach(en.value)
		kept = append(kept, en)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = kept
}

// detach copies the parts of a converted value that still point into the
// collection.
func detach(v any) any {
	switch x := v.(type) {
	case countingPoints:
		out := slices.Clone(x)
		for i := range out {
			out[i].Exemplars = nil
		}
		return out
	case histogramPoint:
		return detachHistogram(x)
	case []histogramPoint:
		out := slices.Clone(x)
		for i := range out {
			out[i] = detachHistogram(out[i])
		}
		return out
	case expHistogramPoint, []expHistogramPoint:
		// Rarely large, and not mergeable: keep its JSON.
		b, err := json.Marshal(x)
		if err != nil {
			return nil
		}
		return rawJSON(b)
	}
	return v
}

func detachHistogram(h histogramPoint) histogramPoint {
	h.Bounds = slices.Clone(h.Bounds)
	h.BucketCounts = slices.Clone(h.BucketCounts)
	return h
}

// items is how many items v counts for against MaxItems.
func items(v any) int {
	switch x := v.(type) {
	case countingPoints:
		return len(x)
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	case []genericPoint:
		return len(x)
	case []histogramPoint:
		return len(x)
	}
	return 1
}

// withCarried merges carried entries into those of a new collection and
// returns the result, sorted by key, within MaxItems, and how many carried
// items did not fit. The new collection's figures always stay.
func withCarried(cur, carried []keyed) ([]keyed, int) {
	if len(carried) == 0 {
		return cur, 0
	}
	at := make(map[string]int, len(cur))
	total := 0
	for i, en := range cur {
		at[en.key] = i
		total += items(en.value)
	}
	dropped := 0
	for _, old := range carried {
		i, both := at[old.key]
		if !both {
			if n := items(old.value); total+n <= MaxItems {
				at[old.key] = len(cur)
				cur = append(cur, old)
				total += n
			} else {
				dropped += n
			}
			continue
		}
		merged, ok := merge(old, cur[i])
		if !ok {
			continue // the newer value replaces the carried one
		}
		if grow := items(merged) - items(cur[i].value); total+grow <= MaxItems {
			cur[i].value = merged
			total += grow
		} else {
			dropped += items(old.value)
		}
	}
	slices.SortFunc(cur, byKey)
	return cur, dropped
}

// merge combines a carried value with a newer one of the same key. ok is
// false when the newer simply replaces the older (values, gauges).
func merge(old, cur keyed) (merged any, ok bool) {
	if !old.additive || !cur.additive {
		switch o := old.value.(type) {
		case []any: // lists keep every element, in order
			if c, isList := cur.value.([]any); isList {
				return append(slices.Clone(o), c...), true
			}
		case map[string]any: // objects keep every member, the newer winning
			if c, isObj := cur.value.(map[string]any); isObj {
				out := make(map[string]any, len(o)+len(c))
				for k, v := range o {
					out[k] = v
				}
				for k, v := range c {
					out[k] = v
				}
				return out, true
			}
		}
		return nil, false
	}
	switch o := old.value.(type) {
	case int64:
		if c, same := cur.value.(int64); same {
			return o + c, true
		}
	case float64:
		if c, same := cur.value.(float64); same {
			return o + c, true
		}
	case countingPoints: // equal values are counted together when encoded
		if c, same := cur.value.(countingPoints); same {
			return append(slices.Clone(o), c...), true
		}
	case []genericPoint:
		if c, same := cur.value.([]genericPoint); same {
			return mergeGenericSums(o, c)
		}
	case histogramPoint:
		if c, same := cur.value.(histogramPoint); same {
			return mergeHistograms(o, c)
		}
	}
	return nil, false
}

// mergeGenericSums adds the points of two sums that have the same
// attributes.
func mergeGenericSums(old, cur []genericPoint) (any, bool) {
	key := func(p genericPoint) string { b, _ := json.Marshal(p.Attributes); return string(b) }
	out := slices.Clone(cur)
	at := make(map[string]int, len(out))
	for i, p := range out {
		at[key(p)] = i
	}
	for _, p := range old {
		i, ok := at[key(p)]
		if !ok {
			out = append(out, p)
			continue
		}
		switch c := out[i].Value.(type) {
		case int64:
			o, _ := p.Value.(int64)
			out[i].Value = c + o
		case float64:
			o, _ := p.Value.(float64)
			out[i].Value = c + o
		}
	}
	return out, true
}

// mergeHistograms adds two histograms with the same buckets.
func mergeHistograms(old, cur histogramPoint) (any, bool) {
	if !slices.Equal(old.Bounds, cur.Bounds) || len(old.BucketCounts) != len(cur.BucketCounts) {
		return nil, false
	}
	out := detachHistogram(cur)
	out.Count += old.Count
	for i := range out.BucketCounts {
		out.BucketCounts[i] += old.BucketCounts[i]
	}
	out.Sum = addNumbers(old.Sum, cur.Sum)
	out.Min = extreme(old.Min, cur.Min, -1)
	out.Max = extreme(old.Max, cur.Max, 1)
	return out, true
}

func addNumbers(a, b any) any {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return x + y
		}
	case float64:
		if y, ok := b.(float64); ok {
			return x + y
		}
	}
	return b
}

// extreme picks the smaller (sign -1) or larger (sign 1) of two optional
// extrema.
func extreme(a, b any, sign int) any {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	af, bf := asFloat(a), asFloat(b)
	if (sign < 0 && af < bf) || (sign > 0 && af > bf) {
		return a
	}
	return b
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}
