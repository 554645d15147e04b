package fleetprocessor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// crashedAfter runs a durable processor that applies updates 0 of n
// instances, exports (a snapshot), applies updates 1, and crashes; it
// returns the position of the first record after the snapshot.
func crashedAfter(t *testing.T, host storageHost, n int) uint64 {
	t.Helper()
	run, err := startDurable(t, durableConfig(), host, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, 0, n, t0.Add(time.Second), run)
	exportAll(t, t0.Add(time.Minute), run)
	pos := run.journal.first
	feed(t, 1, n, t0.Add(61*time.Second), run)
	run.crash(t)
	return pos
}

// damage overwrites the storage value of key with bytes.
func damage(t *testing.T, host storageHost, key string, b []byte) {
	t.Helper()
	c := host.rawClient(t)
	defer c.Close(context.Background())
	old, err := c.Get(context.Background(), key)
	if err != nil || old == nil {
		t.Fatalf("%s to damage: %d bytes, %v", key, len(old), err)
	}
	if b == nil { // flip one bit in the middle
		b = append([]byte(nil), old...)
		b[len(b)/2] ^= 0x10
	}
	if err := c.Set(context.Background(), key, b); err != nil {
		t.Fatal(err)
	}
}

func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zap.InfoLevel)
	return zap.New(core), logs
}

func logged(t *testing.T, logs *observer.ObservedLogs, level string, part string) {
	t.Helper()
	for _, e := range logs.All() {
		if e.Level.String() == level && strings.Contains(e.Message, part) {
			return
		}
	}
	var all []string
	for _, e := range logs.All() {
		all = append(all, e.Level.String()+": "+e.Message)
	}
	t.Errorf("no %s log saying %q; the log: %q", level, part, all)
}

// A record damaged on disk is reported and left out; the records after it
// are replayed.
func TestADamagedRecordIsLeftOutAndReported(t *testing.T) {
	const n = 12
	host := newStorageHost(t, t.TempDir(), false)
	pos := crashedAfter(t, host, n)
	damage(t, host, logKey(pos+3), nil) // instance 3's update 1

	logger, logs := observed()
	run, err := startDurable(t, durableConfig(), host, t0.Add(2*time.Minute), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	logged(t, logs, "error", "record is unreadable")
	ref := newTestProcessor(t, testConfig())
	feed(t, 0, n, t0.Add(time.Second), ref)
	exportAll(t, t0.Add(time.Minute), ref)
	ref.clock = t0.Add(61 * time.Second)
	for i := range n {
		if i != 3 {
			ref.sendKeyed(t, updateKeyOf(i, 1), update(i, 1))
		}
	}
	got := exportAll(t, t0.Add(2*time.Minute), ref, run)
	sameFleet(t, "without the damaged record", got[1], got[0])
}

// A damaged snapshot is reported and kept aside; the totals start again
// (on series with a new start) from the records after it.
func TestADamagedSnapshotStartsTheTotalsAgainFromTheLog(t *testing.T) {
	const n = 12
	host := newStorageHost(t, t.TempDir(), false)
	crashedAfter(t, host, n)
	damage(t, host, storageSnapshot, nil)

	logger, logs := observed()
	restart := t0.Add(2 * time.Minute)
	run, err := startDurable(t, durableConfig(), host, restart, logger)
	if err != nil {
		t.Fatal(err)
	}
	logged(t, logs, "error", "snapshot is unreadable")
	ref := newTestProcessor(t, testConfig())
	feed(t, 1, n, t0.Add(61*time.Second), ref)
	got := exportAll(t, restart, ref, run)
	sameFleet(t, "from the log alone", got[1], got[0])
	for start := range run.startTimestamps() {
		if start != restart.UnixNano() {
			t.Errorf("a series starts at %v, not at the restart (%v): its total started again", time.Unix(0, start), restart)
		}
	}
	if err := run.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := host.rawClient(t)
	defer c.Close(context.Background())
	if kept, err := c.Get(context.Background(), storageSnapshot+".unreadable"); err != nil || len(kept) == 0 {
		t.Errorf("the unreadable snapshot was not kept aside: %d bytes, %v", len(kept), err)
	}
}

// With the snapshot and the log's start both garbage, nothing can be
// placed: the processor starts empty, says so, and replays no stale
// record then or later.
func TestGarbageEverywhereStartsEmpty(t *testing.T) {
	host := newStorageHost(t, t.TempDir(), false)
	crashedAfter(t, host, 12)
	damage(t, host, storageSnapshot, []byte("not a snapshot"))
	damage(t, host, storageLogStart, []byte{})
	logger, logs := observed()
	run, err := startDurable(t, durableConfig(), host, t0.Add(2*time.Minute), logger)
	if err != nil {
		t.Fatal(err)
	}
	logged(t, logs, "error", "both unreadable or missing")
	if got := exportAll(t, t0.Add(2*time.Minute), run)[0]; len(got["fleet.updates"]) != 0 {
		t.Errorf("totals from records that could not be placed: %v", got["fleet.updates"])
	}
	// Enough updates to write over the old records' numbers and reach
	// those left past them: they belong to the old log, and are skipped.
	feed(t, 2, 14, t0.Add(3*time.Minute), run)
	feed(t, 3, 6, t0.Add(3*time.Minute), run)
	run.crash(t)
	run, err = startDurable(t, durableConfig(), host, t0.Add(4*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	ref := newTestProcessor(t, testConfig())
	exportAll(t, t0.Add(2*time.Minute), ref)
	feed(t, 2, 14, t0.Add(3*time.Minute), ref)
	feed(t, 3, 6, t0.Add(3*time.Minute), ref)
	got := exportAll(t, t0.Add(4*time.Minute), ref, run)
	sameFleet(t, "after garbage and a crash", got[1], got[0])
}

// A database file that is not one fails Start with an error naming the
// storage, never a panic, with filestorage's recreate too (it recreates
// only a database whose opening panics); moved aside, the processor
// starts empty on a new one.
func TestAGarbageDatabaseFailsStart(t *testing.T) {
	dir := t.TempDir()
	crashedAfter(t, newStorageHost(t, dir, false), 6)
	files, _ := filepath.Glob(filepath.Join(dir, "processor_fleet*"))
	if len(files) != 1 {
		t.Fatalf("the processor's database: %v", files)
	}
	if err := os.WriteFile(files[0], []byte(strings.Repeat("garbage ", 1<<13)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, recreate := range []bool{false, true} {
		if _, err := startDurable(t, durableConfig(), newStorageHost(t, dir, recreate), t0, nil); err == nil || !strings.Contains(err.Error(), "storage") {
			t.Errorf("Start on a garbage database (recreate %v): %v", recreate, err)
		}
	}
	if err := os.Rename(files[0], files[0]+".aside"); err != nil {
		t.Fatal(err)
	}
	run, err := startDurable(t, durableConfig(), newStorageHost(t, dir, false), t0, nil)
	if err != nil {
		t.Fatalf("Start on a new database: %v", err)
	}
	defer run.Shutdown(context.Background())
	if got := exportAll(t, t0, run)[0]; len(got["fleet.updates"]) != 0 {
		t.Errorf("totals on a new database: %v", got["fleet.updates"])
	}
}
