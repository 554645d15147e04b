package convert

import (
	"slices"

	"github.com/telemetrybridge/telemetry/payload"
)

// Merge merges carried entries into newer ones and returns the result,
// sorted by key, within payload.MaxItems: counts add up, counting sets
// merge, lists keep their order, values keep the newest; the newer
// figures always stay. It tells apart the carried items that did not fit
// (dropped) and those that could not be merged (unmerged): figures that a
// newer value of the same key could not take in (two summaries of one
// attribute set), or that were additive but replaced by a value of
// another shape. The caller counts both under payload.KeyDropped.
func Merge(cur, carried []Entry) (_ []Entry, dropped, unmerged int) {
	if len(carried) == 0 {
		return cur, 0, 0
	}
	at := make(map[string]int, len(cur))
	total := 0
	for i, en := range cur {
		at[en.Key] = i
		total += en.Value.Items()
	}
	for _, old := range carried {
		i, both := at[old.Key]
		if !both {
			if n := old.Value.Items(); total+n <= payload.MaxItems {
				at[old.Key] = len(cur)
				cur = append(cur, old)
				total += n
			} else {
				dropped += n
			}
			continue
		}
		additive := old.Additive && cur[i].Additive
		merged, lost, ok := cur[i].Value.mergeOlder(old.Value, additive)
		if !ok {
			// The newer value replaces the carried one: by design for
			// values and gauges; sums of another shape are lost.
			if additive {
				unmerged += old.Value.Items()
			}
			continue
		}
		if grow := merged.Items() - cur[i].Value.Items(); total+grow <= payload.MaxItems {
			cur[i].Value = merged
			total += grow
			unmerged += lost
		} else {
			dropped += old.Value.Items()
		}
	}
	slices.SortFunc(cur, ByKey)
	return cur, dropped, unmerged
}

// AddDropped adds n to the count of dropped items in entries, which are
// sorted by key.
func AddDropped(entries []Entry, n int) []Entry {
	if n == 0 {
		return entries
	}
	i, found := slices.BinarySearchFunc(entries, Entry{Key: payload.KeyDropped}, ByKey)
	if found {
		if cur, ok := entries[i].Value.(*number); ok && !cur.IsFloat {
			n += int(cur.Int)
		}
		entries[i] = Entry{Key: payload.KeyDropped, Value: newNumber(payload.IntNumber(int64(n))), Additive: true}
		return entries
	}
	return slices.Insert(entries, i, Entry{Key: payload.KeyDropped, Value: newNumber(payload.IntNumber(int64(n))), Additive: true})
}

// IntegerOf returns the integer that v holds, when it is a whole number
// (a count, such as payload.KeyDropped's).
func IntegerOf(v Value) (int64, bool) {
	if n, ok := v.(*number); ok && !n.IsFloat {
		return n.Int, true
	}
	return 0, false
}

// Integer is the value of a count, as the journal keeps one.
func Integer(n int64) Value { return newNumber(payload.IntNumber(n)) }
