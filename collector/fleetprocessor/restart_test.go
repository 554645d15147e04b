package fleetprocessor

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// A host whose clock went back an hour between two runs: the restart
// counts exactly what a processor that saw the same clock counts, and the
// keys applied "in the future" are still known; the log says the clock
// is behind the series' start.
func TestAClockGoneBackBetweenRunsCountsExactly(t *testing.T) {
	const n = 12
	late := t0.Add(time.Hour)
	host := newStorageHost(t, t.TempDir(), false)
	ref := newTestProcessor(t, testConfig())
	ref.clock = late
	run, err := startDurable(t, durableConfig(), host, late, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, 0, n, late.Add(time.Second), ref, run)
	exportAll(t, late.Add(time.Minute), ref, run)
	feed(t, 1, n, late.Add(2*time.Minute), ref, run)
	run.crash(t)

	logger, logs := observed()
	run, err = startDurable(t, durableConfig(), host, t0, logger) // an hour back
	if err != nil {
		t.Fatal(err)
	}
	logged(t, logs, "warn", "clock is behind")
	defer run.Shutdown(context.Background())
	feed(t, 1, n, t0.Add(time.Second), run) // resent: known
	feed(t, 2, n, t0.Add(2*time.Second), ref, run)
	got := exportAll(t, t0.Add(time.Minute), ref, run)
	sameFleet(t, "with the clock an hour back", got[1], got[0])
}

// A replica restarted with other settings (k, buckets, caps, window, key
// bounds) on the state the old ones wrote: no panic, the totals carry on,
// and the keys fit the new bound.
func TestARestartWithOtherSettingsCarriesOn(t *testing.T) {
	const n = 12
	host := newStorageHost(t, t.TempDir(), false)
	run, err := startDurable(t, durableConfig(), host, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, 0, n, t0.Add(time.Second), run)
	before := exportAll(t, t0.Add(time.Minute), run)[0]
	feed(t, 1, n, t0.Add(2*time.Minute), run)
	run.crash(t)

	cfg := durableConfig()
	cfg.MinInstances, cfg.Buckets = 2, []float64{1, 10}
	cfg.MaxSeries, cfg.MaxInstances = 5, 3
	cfg.Window, cfg.ExportInterval = 5*time.Minute, 5*time.Minute
	cfg.Idempotency.MaxKeys = 3
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	run, err = startDurable(t, cfg, host, t0.Add(3*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	if run.keys.count > 3 {
		t.Errorf("%d keys kept, over the new bound of 3", run.keys.count)
	}
	feed(t, 2, n, t0.Add(4*time.Minute), run)
	got := exportAll(t, t0.Add(4*time.Minute), run)[0]
	// Updates j of instance i count 1+100j+i: three rounds of n instances.
	want := float64(0)
	for j := range 3 {
		for i := range n {
			want += float64(1 + 100*j + i)
		}
	}
	if s := sum(got["fleet.updates"]); s != want || sum(before["fleet.updates"]) == 0 {
		t.Errorf("updates total %v after the restart, want %v (before it: %v)", s, want, before["fleet.updates"])
	}
}

// A restart that dies before its own snapshot is written (a SIGKILL, a
// disk that refuses the write) leaves the storage as it found it: the
// next restart counts every update once.
func TestARestartThatFailsBeforeItsSnapshotLosesNothing(t *testing.T) {
	const n = 12
	fail := new(atomic.Bool)
	host := newStorageHost(t, t.TempDir(), false)
	host.ext = failingStorage{Extension: host.ext, failWrites: fail}
	ref := newTestProcessor(t, testConfig())
	run, err := startDurable(t, durableConfig(), host, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, 0, n, t0.Add(time.Second), ref, run)
	exportAll(t, t0.Add(time.Minute), ref, run)
	feed(t, 1, n, t0.Add(2*time.Minute), ref, run)
	run.crash(t)

	fail.Store(true)
	if _, err := startDurable(t, durableConfig(), host, t0.Add(3*time.Minute), nil); err == nil {
		t.Fatal("Start succeeded without writing its snapshot")
	}
	fail.Store(false)
	run, err = startDurable(t, durableConfig(), host, t0.Add(4*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	feed(t, 1, n, t0.Add(4*time.Minute), run) // resent: known
	got := exportAll(t, t0.Add(5*time.Minute), ref, run)
	sameFleet(t, "after a restart that failed", got[1], got[0])
}

// A snapshot that reads but does not hold together (another version's,
// or a bug's) is reported, kept aside as an unreadable one is, and the
// totals start again from the log's records after it.
func TestASnapshotThatDoesNotHoldTogetherIsKeptAside(t *testing.T) {
	const n = 12
	host := newStorageHost(t, t.TempDir(), false)
	crashedAfter(t, host, n)
	c := host.rawClient(t)
	raw, err := c.Get(context.Background(), storageLogStart)
	if err != nil {
		t.Fatal(err)
	}
	generation, pos, err := decodeLogStart(raw)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := encodeSnapshot(&savedState{Generation: generation, LogPos: pos, Start: t0.UnixNano(),
		Metrics: []savedName{{Name: "updates", Recent: savedRecent{IDs: []uint64{1, 2}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(context.Background(), storageSnapshot, bad); err != nil {
		t.Fatal(err)
	}
	_ = c.Close(context.Background())

	logger, logs := observed()
	restart := t0.Add(2 * time.Minute)
	run, err := startDurable(t, durableConfig(), host, restart, logger)
	if err != nil {
		t.Fatal(err)
	}
	logged(t, logs, "error", "does not hold together")
	ref := newTestProcessor(t, testConfig())
	feed(t, 1, n, t0.Add(61*time.Second), ref)
	got := exportAll(t, restart, ref, run)
	sameFleet(t, "from the log alone", got[1], got[0])
	if err := run.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c = host.rawClient(t)
	defer c.Close(context.Background())
	if kept, err := c.Get(context.Background(), storageSnapshot+".unreadable"); err != nil || string(kept) != string(bad) {
		t.Errorf("the snapshot that did not hold together was not kept aside: %d bytes, %v", len(kept), err)
	}
}
