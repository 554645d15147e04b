package spool

import (
	"slices"
	"sync"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/payload"
)

// Carried keeps the figures of updates that could not be delivered, so
// that the next update carries them: counts add up, counting sets merge,
// lists keep their order, values keep the newest. Updates that fail at
// the same time merge by the same rules; none replaces another. Once
// attached to a spool (Attach), every change is saved in the carried
// file, in order; without one, the figures are in memory only.
type Carried struct {
	mu      sync.Mutex
	entries []convert.Entry
	// meta is what the carried file says besides its figures: the latest
	// generation they came from, the owners whose files they absorbed,
	// the update files whose figures they hold, and the save's version.
	meta  Meta
	spool *Spool // nil: in memory only
}

// Saved is what a change to the carried figures came to, for the
// exporter to act on and report.
type Saved struct {
	// Unmerged counts carried items that merging lost (see
	// convert.Merge); they are counted as dropped as well.
	Unmerged int
	// Problems are the spool's, met while saving.
	Problems []error
	// Err is set when the figures are not on disk as they are in memory.
	Err error
}

// Attach saves every later change in s's carried file.
func (c *Carried) Attach(s *Spool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spool = s
}

// Take returns what is carried, and the generation it came from, and
// forgets it. It holds the carried figures until Taken: the caller saves
// the update that now carries them first, so that no other save can leave
// them off the disk in between.
func (c *Carried) Take() (taken []convert.Entry, meta Meta) {
	c.mu.Lock()
	taken = c.entries
	c.entries = nil
	meta.Gen = c.meta.Gen
	if len(taken) > 0 {
		meta.Took = c.meta.Version // the carried file on disk holds them
	}
	return taken, meta
}

// Holds reports whether figures are carried.
func (c *Carried) Holds() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries) > 0
}

// Taken saves the carried figures without what Take returned, and lets go
// of them.
func (c *Carried) Taken() Saved {
	defer c.mu.Unlock()
	return c.saveLocked(0)
}

// Add adds the entries of a failed update (or a checkpoint) of generation
// gen to what is carried, copied out of the collection they came from
// (the SDK reuses it).
func (c *Carried) Add(entries []convert.Entry, gen uint64) Saved {
	return c.AddSynced(entries, gen, true)
}

// AddUpdate adds the entries of an update that failed, whose spool file
// is spooled, and names that file in the carried file until Forget: the
// figures are in both files until the update's is deleted.
func (c *Carried) AddUpdate(entries []convert.Entry, gen uint64, spooled string) Saved {
	if spooled != "" {
		c.mu.Lock()
		c.meta.Replaces = append(c.meta.Replaces, spooled)
		c.mu.Unlock()
	}
	return c.Add(entries, gen)
}

// Forget stops naming an update file that is deleted.
func (c *Carried) Forget(spooled string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.meta.Replaces = slices.DeleteFunc(c.meta.Replaces, func(n string) bool { return n == spooled })
}

// AddSynced is Add; unless synced, the carried file is written without
// syncing it (replaceFile), as checkpoints write it.
func (c *Carried) AddSynced(entries []convert.Entry, gen uint64, synced bool) Saved {
	kept := make([]convert.Entry, 0, len(entries))
	for _, en := range entries {
		if en.Key == payload.KeyGoroutines || en.Key == payload.KeyMemory {
			continue // measured anew for every update
		}
		en.Value = en.Value.Detach()
		kept = append(kept, en)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	merged, dropped, unmerged := convert.Merge(kept, c.entries)
	c.entries = convert.AddDropped(merged, dropped+unmerged)
	c.meta.Gen = max(c.meta.Gen, gen)
	c.meta.Unsynced = !synced
	defer func() { c.meta.Unsynced = false }()
	return c.saveLocked(unmerged)
}

// Absorb adds claimed figures like Add, and names the owners whose files
// they came from in the carried file, so that a process that dies before
// those files are deleted does not have them claimed twice. The claimed
// figures are older than any this process carries.
func (c *Carried) Absorb(entries []convert.Entry, owners []string) Saved {
	for i := range entries {
		entries[i].Value = entries[i].Value.Detach()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	merged, dropped, unmerged := convert.Merge(c.entries, entries)
	c.entries = convert.AddDropped(merged, dropped+unmerged)
	c.meta.Absorbed = owners
	return c.saveLocked(unmerged)
}

// Absorbed forgets the owners named by Absorb once their files are gone.
func (c *Carried) Absorbed() Saved {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.meta.Absorbed = nil
	return c.saveLocked(0)
}

// saveLocked writes what is carried to the spool, if attached; c.mu is
// held, so that saves happen in order.
func (c *Carried) saveLocked(unmerged int) Saved {
	saved := Saved{Unmerged: unmerged}
	if c.spool != nil {
		c.meta.Version++
		saved.Problems, saved.Err = c.spool.SaveCarried(c.entries, c.meta)
	}
	return saved
}
