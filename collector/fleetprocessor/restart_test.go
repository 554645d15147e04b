package fleetprocessor

import (
	"context"
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
