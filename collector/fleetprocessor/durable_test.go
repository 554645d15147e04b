package fleetprocessor

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

var t0 = time.Unix(1_700_000_000, 0)

// update is instance i's j-th update: loadgen's shape (counts, values,
// readings, a counting set) plus a count that differs per update, so that
// an update counted twice or lost shows in the totals.
func update(i, j int) pmetric.Metrics {
	md := instanceUpdate(i)
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	addCount(ms, "updates", true, int64(1+j*100+i))
	addValue(ms, "phase", fmt.Sprintf("p%d", j%3))
	return md
}

func updateKeyOf(i, j int) string { return fmt.Sprintf("key-%d-%d", i, j) }

// feed sends updates j of instances 0..n-1 to every processor at clock at.
func feed(t *testing.T, j, n int, at time.Time, tps ...*testProcessor) {
	t.Helper()
	for _, tp := range tps {
		tp.clock = at
		for i := range n {
			tp.sendKeyed(t, updateKeyOf(i, j), update(i, j))
		}
	}
}

// exportAll exports every processor at clock at and returns their series.
func exportAll(t *testing.T, at time.Time, tps ...*testProcessor) []map[string]map[string]float64 {
	t.Helper()
	var out []map[string]map[string]float64
	for _, tp := range tps {
		tp.clock = at
		out = append(out, tp.fleet(t))
	}
	return out
}

func sameFleet(t *testing.T, what string, got, want map[string]map[string]float64) {
	t.Helper()
	if len(want["fleet.updates"]) == 0 {
		t.Fatalf("%s: the reference published no updates total: %v", what, want)
	}
	if !reflect.DeepEqual(got, want) {
		for name, series := range want {
			if !reflect.DeepEqual(got[name], series) {
				t.Errorf("%s: %s = %v, want %v", what, name, got[name], series)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s: %s = %v, not in the reference", what, name, got[name])
			}
		}
	}
}

// A replica abandoned without Shutdown (a SIGKILL) and started again on
// its storage sends what a replica that never stopped sends: the same
// totals, value counts and readings, on series with the same start, and
// it does not count again an update it had applied before the crash,
// whether the snapshot or only the log held it.
func TestACrashedReplicaContinuesItsSeries(t *testing.T) {
	const n = 30
	host := newStorageHost(t, t.TempDir(), false)
	ref := newTestProcessor(t, testConfig()) // memory only, never stops
	run1, err := startDurable(t, durableConfig(), host, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, 0, n, t0.Add(10*time.Second), ref, run1)
	exportAll(t, t0.Add(time.Minute), ref, run1) // a snapshot holds updates 0
	feed(t, 1, n, t0.Add(70*time.Second), ref, run1)
	feed(t, 2, n/2, t0.Add(80*time.Second), ref, run1) // the log alone holds updates 1 and 2
	run1.crash(t)

	run2, err := startDurable(t, durableConfig(), host, t0.Add(3*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run2.Shutdown(context.Background()) })
	got := exportAll(t, t0.Add(3*time.Minute), ref, run2)
	sameFleet(t, "after the crash", got[1], got[0])
	for start, points := range run2.startTimestamps() {
		if start != t0.UnixNano() {
			t.Errorf("%d points start at %v, not at the first run's start %v", points, time.Unix(0, start), t0)
		}
	}
	// Resent, as clients whose answers were lost resend them: from the
	// snapshot, from the log, and one never sent (counted).
	run2.clock = t0.Add(4 * time.Minute)
	run2.sendKeyed(t, updateKeyOf(3, 0), update(3, 0))
	run2.sendKeyed(t, updateKeyOf(4, 2), update(4, 2))
	run2.sendKeyed(t, updateKeyOf(n-1, 2), update(n-1, 2))
	ref.clock = run2.clock
	ref.sendKeyed(t, updateKeyOf(n-1, 2), update(n-1, 2))
	got = exportAll(t, t0.Add(5*time.Minute), ref, run2)
	sameFleet(t, "after resends", got[1], got[0])
}

// A replica that stops cleanly and starts again continues too, and the
// keys it applied before still count as applied.
func TestAStoppedReplicaContinuesItsSeries(t *testing.T) {
	host := newStorageHost(t, t.TempDir(), false)
	ref := newTestProcessor(t, testConfig())
	run1, err := startDurable(t, durableConfig(), host, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, 0, 10, t0.Add(time.Second), ref, run1)
	run1.clock = t0.Add(2 * time.Second)
	if err := run1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	run2, err := startDurable(t, durableConfig(), host, t0.Add(time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run2.Shutdown(context.Background()) })
	feed(t, 0, 10, t0.Add(61*time.Second), run2) // all resent
	// The reference exported once less: its last outputs differ, not its
	// totals; export it once to match.
	exportAll(t, t0.Add(2*time.Second), ref)
	got := exportAll(t, t0.Add(2*time.Minute), ref, run2)
	sameFleet(t, "after a clean stop", got[1], got[0])
}

// A storage that is not there, or not a storage, fails Start.
func TestAMissingStorageFailsStart(t *testing.T) {
	cfg := durableConfig()
	other := component.MustNewID("nothere")
	cfg.Storage = &other
	if _, err := startDurable(t, cfg, newStorageHost(t, t.TempDir(), false), t0, nil); err == nil || !strings.Contains(err.Error(), "nothere is not configured") {
		t.Errorf("Start with a storage not configured: %v", err)
	}
	f := extensiontest.NewNopFactory()
	nop, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), f.CreateDefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := startDurable(t, durableConfig(), storageHost{ext: nop}, t0, nil); err == nil || !strings.Contains(err.Error(), "not a storage extension") {
		t.Errorf("Start with an extension that stores nothing: %v", err)
	}
}

// failingStorage is filestorage that fails while told to: its batches
// (the snapshot's writes) while failWrites is set, a full disk; its reads
// of log records while failLogReads is set, a disk that errs on a read or
// a storage that times out. A nil switch never fails.
type failingStorage struct {
	extension.Extension
	failWrites, failLogReads *atomic.Bool
}

func (f failingStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := f.Extension.(storage.Extension).GetClient(ctx, kind, id, name)
	return failingClient{c, f}, err
}

type failingClient struct {
	storage.Client
	f failingStorage
}

func (c failingClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if c.f.failWrites != nil && c.f.failWrites.Load() {
		return errors.New("the disk is full")
	}
	return c.Client.Batch(ctx, ops...)
}

func (c failingClient) Get(ctx context.Context, key string) ([]byte, error) {
	if c.f.failLogReads != nil && c.f.failLogReads.Load() && strings.HasPrefix(key, storageLog) {
		return nil, errors.New("input/output error")
	}
	return c.Client.Get(ctx, key)
}

// An export whose snapshot could not be written is replayed in its place:
// its sweep ended the window of every instance, and those that came back
// after it count as returned, as they did before the crash.
func TestAnExportWithoutItsSnapshotIsReplayed(t *testing.T) {
	fail := new(atomic.Bool)
	host := newStorageHost(t, t.TempDir(), false)
	host.ext = failingStorage{Extension: host.ext, failWrites: fail}
	ref := newTestProcessor(t, testConfig())
	logger, logs := observed()
	run, err := startDurable(t, durableConfig(), host, t0, logger)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, 0, 12, t0.Add(time.Second), ref, run)
	fail.Store(true)
	exportAll(t, t0.Add(12*time.Minute), ref, run) // past the window: every instance's ends
	fail.Store(false)
	logged(t, logs, "warn", "snapshot was not written")
	feed(t, 1, 6, t0.Add(13*time.Minute), ref, run)
	run.crash(t)

	run, err = startDurable(t, durableConfig(), host, t0.Add(14*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	got := exportAll(t, t0.Add(14*time.Minute), ref, run)
	if r := got[0]["fleet.processor.returned_after_window"][key()]; r != 6 {
		t.Fatalf("the reference counts %v instances returned, want 6", r)
	}
	sameFleet(t, "with an export replayed", got[1], got[0])
}
