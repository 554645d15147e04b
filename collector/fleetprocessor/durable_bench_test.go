package fleetprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
)

// BenchmarkConsumeStorage is BenchmarkConsume's loadgen-like update, each
// under its own Idempotency-Key, without storage and with filestorage
// (the update logged before ConsumeMetrics returns; no export during the
// run, so the snapshot's cost is BenchmarkSnapshot's), in one run so
// that benchstat compares them on the same machine load.
//
//	cd collector && go test -run '^$' -bench ConsumeStorage -benchmem -cpu 1,2 -count 6 ./fleetprocessor | tee /tmp/consume.txt
//	~/go/bin/benchstat -col /storage /tmp/consume.txt
func BenchmarkConsumeStorage(b *testing.B) {
	updates := make([]pmetric.Metrics, 1000)
	for i := range updates {
		updates[i] = instanceUpdate(i)
	}
	for _, durable := range []bool{false, true} {
		name := "storage=none"
		if durable {
			name = "storage=file"
		}
		b.Run(name, func(b *testing.B) {
			cfg := testConfig()
			if durable {
				cfg = durableConfig()
			}
			tp, err := startDurable(b, cfg, newStorageHost(b, b.TempDir(), false), t0, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer tp.Shutdown(context.Background())
			// A replica that has run a while: 1,000 instances in a snapshot,
			// which the log's appends must not rewrite (durable.go).
			for i, md := range updates {
				if err := tp.ConsumeMetrics(withKey(fmt.Sprintf("pre-%d", i)), md); err != nil {
					b.Fatal(err)
				}
			}
			if err := tp.export(context.Background()); err != nil {
				b.Fatal(err)
			}
			ctxs := make([]context.Context, b.N)
			for i := range ctxs {
				ctxs[i] = withKey(fmt.Sprintf("bench-%d", i))
			}
			b.ResetTimer()
			for i := range b.N {
				if err := tp.ConsumeMetrics(ctxs[i], updates[i%len(updates)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSnapshot writes the snapshot of 10,000 loadgen-like instances
// (the state copied under the lock, then encoded and written with the
// records it covers deleted) and reports its size. copy-ms is the part
// that holds the lock, during which updates wait; load-ms is a restart's
// decoding and rebuilding of it.
//
//	cd collector && go test -run '^$' -bench Snapshot -benchmem -count 6 ./fleetprocessor
func BenchmarkSnapshot(b *testing.B) {
	const instances = 10_000
	tp, err := startDurable(b, durableConfig(), newStorageHost(b, b.TempDir(), false), t0, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	for i := range instances {
		if err := tp.ConsumeMetrics(withKey(fmt.Sprintf("k%d", i)), instanceUpdate(i)); err != nil {
			b.Fatal(err)
		}
	}
	var copying time.Duration
	size := 0
	b.ResetTimer()
	for range b.N {
		began := time.Now()
		tp.mu.Lock()
		saved := tp.saveState()
		tp.mu.Unlock()
		copying += time.Since(began)
		if size, err = tp.journal.writeSnapshot(context.Background(), saved); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(size), "snapshot-bytes")
	b.ReportMetric(float64(copying.Microseconds())/1e3/float64(b.N), "copy-ms")
	b.ReportMetric(loadMillis(b, tp), "load-ms")
}

// loadMillis is how long a restart takes to read and rebuild the state of
// the snapshot tp last wrote (the log's replay aside).
func loadMillis(b *testing.B, tp *testProcessor) float64 {
	raw, err := tp.journal.client.Get(context.Background(), storageSnapshot)
	if err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	saved, err := decodeSnapshot(raw)
	if err != nil {
		b.Fatal(err)
	}
	fresh := newProcessor(tp.cfg, processortest.NewNopSettings(Type), new(consumertest.MetricsSink))
	if err := fresh.load(saved); err != nil {
		b.Fatal(err)
	}
	took := time.Since(began)
	if len(fresh.agg.instances) != len(tp.agg.instances) {
		b.Fatalf("%d instances loaded of %d", len(fresh.agg.instances), len(tp.agg.instances))
	}
	return float64(took.Microseconds()) / 1e3
}
