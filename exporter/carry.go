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
	// meta is what the carried file says besides its figures: the latest
	// generation they came from, and the owners whose files they absorbed.
	meta spoolMeta
	// save, when set, writes what is carried to the spool whenever it
	// changes; it runs under mu, so that saves happen in order. It returns
	// an error when the figures are not on disk.
	save func([]entry, spoolMeta) error
	// unmerged, when set, hears of items that merging lost (see
	// mergeCarried); they are counted as dropped as well.
	unmerged func(n int)
}

// take returns what is carried, and the generation it came from, and
// forgets it. It holds the carry-over until taken: the caller saves the
// update that now carries the figures first, so that no other save can
// leave them off the disk in between.
func (c *carryOver) take() (taken []entry, meta spoolMeta) {
	c.mu.Lock()
	taken = c.entries
	c.entries = nil
	meta.gen = c.meta.gen
	if len(taken) > 0 {
		meta.took = c.meta.version // the carried file on disk holds them
	}
	return taken, meta
}

// holds reports whether figures are carried.
func (c *carryOver) holds() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries) > 0
}

// taken saves the carry-over without what take returned, and lets go of
// it.
func (c *carryOver) taken() error {
	defer c.mu.Unlock()
	return c.persistLocked()
}

// keep adds the entries of a failed update (or a checkpoint) of
// generation gen to what is carried, copied out of the collection they
// came from (the SDK reuses it). It returns the spool's error when what is
// carried now could not be saved.
func (c *carryOver) keep(entries []entry, gen uint64) error {
	return c.keepSynced(entries, gen, true)
}

// keepUpdate keeps the entries of an update that failed, whose spool file
// is spooled, and names that file in the carried file until forget: the
// figures are in both files until the update's is deleted.
func (c *carryOver) keepUpdate(entries []entry, gen uint64, spooled string) error {
	if spooled != "" {
		c.mu.Lock()
		c.meta.replaces = append(c.meta.replaces, spooled)
		c.mu.Unlock()
	}
	return c.keep(entries, gen)
}

// forget stops naming an update file that is deleted.
func (c *carryOver) forget(spooled string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.meta.replaces = slices.DeleteFunc(c.meta.replaces, func(n string) bool { return n == spooled })
}

// keepSynced is keep; unless synced, the carried file is written without
// syncing it (replaceFile), as checkpoints write it.
func (c *carryOver) keepSynced(entries []entry, gen uint64, synced bool) error {
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
	merged, dropped, unmerged := mergeCarried(kept, c.entries)
	c.noteUnmerged(unmerged)
	c.entries = addDropped(merged, dropped+unmerged)
	c.meta.gen = max(c.meta.gen, gen)
	c.meta.unsynced = !synced
	defer func() { c.meta.unsynced = false }()
	return c.persistLocked()
}

// absorb keeps claimed figures like keep, and names the owners whose files
// they came from in the carried file, so that a process that dies before
// those files are deleted does not have them claimed twice.
// The claimed figures are older than any this process carries.
func (c *carryOver) absorb(entries []entry, owners []string) error {
	for i := range entries {
		entries[i].value = entries[i].value.detach()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	merged, dropped, unmerged := mergeCarried(c.entries, entries)
	c.noteUnmerged(unmerged)
	c.entries = addDropped(merged, dropped+unmerged)
	c.meta.absorbed = owners
	return c.persistLocked()
}

// absorbed forgets the owners named by absorb once their files are gone.
func (c *carryOver) absorbed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.meta.absorbed = nil
	_ = c.persistLocked()
}

func (c *carryOver) noteUnmerged(n int) {
	if n > 0 && c.unmerged != nil {
		c.unmerged(n)
	}
}

func (c *carryOver) persistLocked() error {
	if c.save != nil {
		c.meta.version++
		return c.save(c.entries, c.meta)
	}
	return nil
}

// withCarried merges carried entries into newer ones and returns the
// result, sorted by key, within payload.MaxItems, and how many carried
// items did not fit or could not be merged. The newer figures always stay.
func withCarried(cur, carried []entry) ([]entry, int) {
	merged, dropped, unmerged := mergeCarried(cur, carried)
	return merged, dropped + unmerged
}

// mergeCarried is withCarried, telling apart the carried items that did
// not fit (dropped) and those that could not be merged (unmerged, also
// counted as dropped): figures that a newer value of the same key could
// not take in (two summaries of one attribute set), or that were additive
// but replaced by a value of another shape.
func mergeCarried(cur, carried []entry) (_ []entry, dropped, unmerged int) {
	if len(carried) == 0 {
		return cur, 0, 0
	}
	at := make(map[string]int, len(cur))
	total := 0
	for i, en := range cur {
		at[en.key] = i
		total += en.value.items()
	}
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
		additive := old.additive && cur[i].additive
		merged, lost, ok := cur[i].value.mergeOlder(old.value, additive)
		if !ok {
			// The newer value replaces the carried one: by design for
			// values and gauges; sums of another shape are lost.
			if additive {
				unmerged += old.value.items()
			}
			continue
		}
		if grow := merged.items() - cur[i].value.items(); total+grow <= payload.MaxItems {
			cur[i].value = merged
			total += grow
			unmerged += lost
		} else {
			dropped += old.value.items()
		}
	}
	slices.SortFunc(cur, byKey)
	return cur, dropped, unmerged
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
