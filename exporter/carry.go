package exporter

import (
	"slices"
	"sync"

	"github.com/telemetrybridge/telemetry/payload"
)

// carryOver keeps the figures of updates that could not be delivered, so
// that the next update carries them: counts add up, counting sets merge,
// lists keep their order, values keep the newest. Updates that fail at
// the same time merge by the same rules; none replaces another.
type carryOver struct {
	mu      sync.Mutex
	entries []entry
	// save, when set, writes what is carried to the spool whenever it
	// changes; it runs under mu, so that saves happen in order. It returns
	// an error when the figures are not on disk.
	save func([]entry) error
}

// take returns what is carried and forgets it. The spool still holds it
// until persist: the caller first saves the update that now carries it.
func (c *carryOver) take() []entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.entries
	c.entries = nil
	return out
}

// keep adds the entries of a failed update to what is carried, copied out
// of the collection they came from (the SDK reuses it). It returns the
// spool's error when what is carried now could not be saved.
func (c *carryOver) keep(entries []entry) error {
	kept := make([]entry, 0, len(entries))
	for _, en := range entries {
		if en.key == payload.KeyGoroutines || en.key == payload.KeyMemory {
			continue // measured anew for every update
		}
		en.value = en.value.detach()
		kept = append(kept, en)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	merged, dropped := withCarried(kept, c.entries)
	c.entries = addDropped(merged, dropped)
	return c.persistLocked()
}

// persist saves what is carried now to the spool.
func (c *carryOver) persist() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.persistLocked()
}

func (c *carryOver) persistLocked() error {
	if c.save != nil {
		return c.save(c.entries)
	}
	return nil
}

// withCarried merges carried entries into newer ones and returns the
// result, sorted by key, within payload.MaxItems, and how many carried
// items did not fit. The newer figures always stay.
func withCarried(cur, carried []entry) ([]entry, int) {
	if len(carried) == 0 {
		return cur, 0
	}
	at := make(map[string]int, len(cur))
	total := 0
	for i, en := range cur {
		at[en.key] = i
		total += en.value.items()
	}
	dropped := 0
	for _, old := range carried {
		i, both := at[old.key]
		if !both {
			if n := old.value.items(); total+n <= payload.MaxItems {
				at[old.key] = len(cur)
				cur = append(cur, old)
				total += n
			} else {
				dropped += n
			}
			continue
		}
		merged, ok := cur[i].value.mergeOlder(old.value, old.additive && cur[i].additive)
		if !ok {
			continue // the newer value replaces the carried one
		}
		if grow := merged.items() - cur[i].value.items(); total+grow <= payload.MaxItems {
			cur[i].value = merged
			total += grow
		} else {
			dropped += old.value.items()
		}
	}
	slices.SortFunc(cur, byKey)
	return cur, dropped
}

// addDropped adds n to the count of dropped items in entries, which are
// sorted by key.
func addDropped(entries []entry, n int) []entry {
	if n == 0 {
		return entries
	}
	i, found := slices.BinarySearchFunc(entries, entry{key: payload.KeyDropped}, byKey)
	if found {
		if cur, ok := entries[i].value.(*number); ok && !cur.IsFloat {
			n += int(cur.Int)
		}
		entries[i] = entry{key: payload.KeyDropped, value: newNumber(payload.IntNumber(int64(n))), additive: true}
		return entries
	}
	return slices.Insert(entries, i, entry{key: payload.KeyDropped, value: newNumber(payload.IntNumber(int64(n))), additive: true})
}
