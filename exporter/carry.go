package exporter

import (
	"slices"
	"sync"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/exporter/internal/spool"
	"github.com/telemetrybridge/telemetry/payload"
)

// carryOver keeps the figures of updates that could not be delivered, so
// that the next update carries them: counts add up, counting sets merge,
// lists keep their order, values keep the newest. Updates that fail at
// the same time merge by the same rules; none replaces another.
type carryOver struct {
	mu      sync.Mutex
	entries []convert.Entry
	// meta is what the carried file says besides its figures: the latest
	// generation they came from, and the owners whose files they absorbed.
	meta spool.Meta
	// save, when set, writes what is carried to the spool whenever it
	// changes; it runs under mu, so that saves happen in order. It returns
	// an error when the figures are not on disk.
	save func([]convert.Entry, spool.Meta) error
	// unmerged, when set, hears of items that merging lost (see
	// convert.Merge); they are counted as dropped as well.
	unmerged func(n int)
}

// take returns what is carried, and the generation it came from, and
// forgets it. It holds the carry-over until taken: the caller saves the
// update that now carries the figures first, so that no other save can
// leave them off the disk in between.
func (c *carryOver) take() (taken []convert.Entry, meta spool.Meta) {
	c.mu.Lock()
	taken = c.entries
	c.entries = nil
	meta.Gen = c.meta.Gen
	if len(taken) > 0 {
		meta.Took = c.meta.Version // the carried file on disk holds them
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

// add adds the entries of a failed update (or a checkpoint) of
// generation gen to what is carried, copied out of the collection they
// came from (the SDK reuses it). It returns the spool's error when what is
// carried now could not be saved.
func (c *carryOver) add(entries []convert.Entry, gen uint64) error {
	return c.addSynced(entries, gen, true)
}

// addUpdate adds the entries of an update that failed, whose spool file
// is spooled, and names that file in the carried file until forget: the
// figures are in both files until the update's is deleted.
func (c *carryOver) addUpdate(entries []convert.Entry, gen uint64, spooled string) error {
	if spooled != "" {
		c.mu.Lock()
		c.meta.Replaces = append(c.meta.Replaces, spooled)
		c.mu.Unlock()
	}
	return c.add(entries, gen)
}

// forget stops naming an update file that is deleted.
func (c *carryOver) forget(spooled string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.meta.Replaces = slices.DeleteFunc(c.meta.Replaces, func(n string) bool { return n == spooled })
}

// addSynced is add; unless synced, the carried file is written without
// syncing it (replaceFile), as checkpoints write it.
func (c *carryOver) addSynced(entries []convert.Entry, gen uint64, synced bool) error {
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
	c.noteUnmerged(unmerged)
	c.entries = convert.AddDropped(merged, dropped+unmerged)
	c.meta.Gen = max(c.meta.Gen, gen)
	c.meta.Unsynced = !synced
	defer func() { c.meta.Unsynced = false }()
	return c.persistLocked()
}

// absorb adds claimed figures like add, and names the owners whose files
// they came from in the carried file, so that a process that dies before
// those files are deleted does not have them claimed twice.
// The claimed figures are older than any this process carries.
func (c *carryOver) absorb(entries []convert.Entry, owners []string) error {
	for i := range entries {
		entries[i].Value = entries[i].Value.Detach()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	merged, dropped, unmerged := convert.Merge(c.entries, entries)
	c.noteUnmerged(unmerged)
	c.entries = convert.AddDropped(merged, dropped+unmerged)
	c.meta.Absorbed = owners
	return c.persistLocked()
}

// absorbed forgets the owners named by absorb once their files are gone.
func (c *carryOver) absorbed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.meta.Absorbed = nil
	_ = c.persistLocked()
}

func (c *carryOver) noteUnmerged(n int) {
	if n > 0 && c.unmerged != nil {
		c.unmerged(n)
	}
}

func (c *carryOver) persistLocked() error {
	if c.save != nil {
		c.meta.Version++
		return c.save(c.entries, c.meta)
	}
	return nil
}
