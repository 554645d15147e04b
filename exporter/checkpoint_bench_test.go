//go:build unix

package exporter

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
)

// BenchmarkCheckpoint measures one checkpoint of a provider whose native
// instruments all changed since the last: 1,000 counters (keys) with 10
// attribute sets each, 10,000 sets in all, every one recorded between two
// checkpoints (by a goroutine, with the timer stopped). Each point is
// added to its stream's count in the journal (internal/streams); no file is
// written.
//
// ns/op is the checkpoint's wall time, which sets the adaptive period
// (max(250 ms, checkpointCostFactor × it)); cpu-ns/op is the CPU time the
// process spent in it, every thread (GC included); cpu% is that CPU time
// over the period: the share of one core that checkpoints take.
//
// exemplars=off is a provider as the bridge makes it (exemplar filter
// AlwaysOff); exemplars=trace is the SDK's default filter, under which the
// SDK gives every point a reservoir and collects it, sampled or not.
func BenchmarkCheckpoint(b *testing.B) {
	for _, ex := range exemplarFilters {
		b.Run("exemplars="+ex.name, func(b *testing.B) {
			r, record := checkpointLoad(b, sdkmetric.WithExemplarFilter(ex.filter))
			benchmarkCheckpoint(b, r, record)
		})
	}
}

// BenchmarkCheckpointCarried is BenchmarkCheckpoint on the path that every
// kind took before streams, and that float sums, gauges and histograms
// still take: the Reader without its stream table. The carried figures
// hold every set, as they do between two updates, so each checkpoint
// converts 10,000 points, merges them into 10,000 and rewrites the carried
// file whole.
func BenchmarkCheckpointCarried(b *testing.B) {
	for _, ex := range exemplarFilters {
		b.Run("exemplars="+ex.name, func(b *testing.B) {
			r, record := checkpointLoad(b, sdkmetric.WithExemplarFilter(ex.filter))
			r.exp.streams = nil
			benchmarkCheckpoint(b, r, record)
		})
	}
}

var exemplarFilters = []struct {
	name   string
	filter exemplar.Filter
}{{"off", exemplar.AlwaysOffFilter}, {"trace", exemplar.TraceBasedFilter}}

func benchmarkCheckpoint(b *testing.B, r *Reader, record func()) {
	ctx := context.Background()
	checkpoint := func() {
		for _, err := range r.checkpoint(ctx) {
			b.Fatal(err)
		}
	}
	record()
	checkpoint() // every set is carried, or has its stream, from here on

	var wall, cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		record()
		b.StartTimer() // reads the memory statistics, which stops the world: outside wall and cpu
		before, start := cpuTime(b), time.Now()
		checkpoint()
		wall += time.Since(start)
		cpu += cpuTime(b) - before
	}
	b.StopTimer()
	perWall, perCPU := wall/time.Duration(b.N), cpu/time.Duration(b.N)
	period := max(DefaultCheckpointInterval, checkpointCostFactor*perWall)
	b.ReportMetric(float64(perCPU.Nanoseconds()), "cpu-ns/op")
	b.ReportMetric(float64(period.Milliseconds()), "period-ms")
	b.ReportMetric(100*perCPU.Seconds()/period.Seconds(), "cpu%")
}

// checkpointLoad is a Reader over a spool on a provider (made with opts)
// with 1,000 counters of 10 attribute sets each, and a function that
// records into every set once, from another goroutine.
func checkpointLoad(b *testing.B, opts ...sdkmetric.Option) (*Reader, func()) {
	exp, err := New(WithEndpoint("http://127.0.0.1:1/"), WithInstanceID(uuid.New()), WithRuntimeFigures(false), WithSpool(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	r := NewReader(exp)
	mp := sdkmetric.NewMeterProvider(append([]sdkmetric.Option{sdkmetric.WithReader(r)}, opts...)...)
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	const keys, setsPerKey = 1000, 10
	type recorder struct {
		c    metric.Int64Counter
		sets []metric.AddOption
	}
	recs := make([]recorder, keys)
	for i := range recs {
		c, err := mp.Meter("bench").Int64Counter(fmt.Sprintf("native.key.%04d", i))
		if err != nil {
			b.Fatal(err)
		}
		recs[i].c = c
		for j := range setsPerKey {
			recs[i].sets = append(recs[i].sets, metric.WithAttributeSet(attribute.NewSet(
				attribute.String("route", fmt.Sprintf("/api/v1/resource/%d", j)), attribute.Int("status", 200+j))))
		}
	}
	ctx := context.Background()
	return r, func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range recs {
				for _, set := range recs[i].sets {
					recs[i].c.Add(ctx, 1, set)
				}
			}
		}()
		<-done
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
