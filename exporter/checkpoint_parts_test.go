//go:build unix

package exporter

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
)

// BenchmarkCheckpointParts splits BenchmarkCheckpoint's load into the
// parts of a checkpoint, each timed alone on a fresh collection of the
// 10,000 changed points: the SDK's collection (into a new
// ResourceMetrics, as checkpoints collect, or into the previous one,
// whose slices the SDK reuses; with either exemplar filter), the
// conversion into entries, keeping them (merging into the carried figures
// and rewriting the carried file), and, in their place for integer sums,
// adding each point to its stream's journal count (internal/streams).
func BenchmarkCheckpointParts(b *testing.B) {
	ctx := context.Background()
	for _, ex := range exemplarFilters {
		b.Run("collect-fresh/exemplars="+ex.name, func(b *testing.B) {
			r, record := checkpointLoad(b, sdkmetric.WithExemplarFilter(ex.filter))
			partLoop(b, record, func() {
				var rm metricdata.ResourceMetrics
				_ = r.Reader.Collect(ctx, &rm)
			})
		})
		b.Run("collect-reused/exemplars="+ex.name, func(b *testing.B) {
			r, record := checkpointLoad(b, sdkmetric.WithExemplarFilter(ex.filter))
			var rm metricdata.ResourceMetrics
			partLoop(b, record, func() { _ = r.Reader.Collect(ctx, &rm) })
		})
	}
	b.Run("convert", func(b *testing.B) {
		r, record := checkpointLoad(b, sdkmetric.WithExemplarFilter(exemplarFilters[0].filter))
		var rm metricdata.ResourceMetrics
		c := new(convert.Converter)
		partLoop(b, func() { record(); _ = r.Reader.Collect(ctx, &rm) }, func() { _, _ = r.exp.convert(c, &rm) })
	})
	b.Run("streams", func(b *testing.B) {
		r, record := checkpointLoad(b, sdkmetric.WithExemplarFilter(exemplarFilters[0].filter))
		var rm metricdata.ResourceMetrics
		partLoop(b, func() { record(); _ = r.Reader.Collect(ctx, &rm) }, func() { r.exp.streams.Take(&rm, r.exp.filter.disabled) })
	})
	b.Run("keep", func(b *testing.B) {
		r, record := checkpointLoad(b, sdkmetric.WithExemplarFilter(exemplarFilters[0].filter))
		var rm metricdata.ResourceMetrics
		c := new(convert.Converter)
		var entries []convert.Entry
		partLoop(b, func() { record(); _ = r.Reader.Collect(ctx, &rm); entries, _ = r.exp.convert(c, &rm) }, func() { _ = r.exp.carried.AddSynced(entries, 1, false) })
	})
}

// partLoop times part after each prepare.
func partLoop(b *testing.B, prepare, part func()) {
	prepare()
	part()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		prepare()
		b.StartTimer()
		part()
	}
}
