//go:build unix

package exporter

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/telemetrybridge/telemetry/internal/journal"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// BenchmarkCheckpointParts splits BenchmarkCheckpoint's load into the
// parts of a checkpoint, each timed alone on a fresh collection of the
// 10,000 changed points: the SDK's collection (into a new
// ResourceMetrics, as checkpoints collect, or into the previous one,
// whose slices the SDK reuses; with either exemplar filter), the
// conversion into entries, keeping them (merging into the carried figures
// and rewriting the carried file), and, for comparison, the prototype
// below that adds each point to a journal count of its own.
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
		c := new(converter)
		partLoop(b, func() { record(); _ = r.Reader.Collect(ctx, &rm) }, func() { _, _ = r.exp.convert(c, &rm) })
	})
	b.Run("journal-adds", func(b *testing.B) {
		r, record := checkpointLoad(b, sdkmetric.WithExemplarFilter(exemplarFilters[0].filter))
		var rm metricdata.ResourceMetrics
		s := &journalStreams{j: r.exp.Journal(), streams: make(map[streamKey]*journal.Count)}
		partLoop(b, func() { record(); _ = r.Reader.Collect(ctx, &rm) }, func() { s.add(&rm) })
	})
	b.Run("keep", func(b *testing.B) {
		r, record := checkpointLoad(b, sdkmetric.WithExemplarFilter(exemplarFilters[0].filter))
		var rm metricdata.ResourceMetrics
		c := new(converter)
		var entries []entry
		partLoop(b, func() { record(); _ = r.Reader.Collect(ctx, &rm); entries, _ = r.exp.convert(c, &rm) }, func() { _ = r.exp.carried.keepSynced(entries, 1, false) })
	})
}

// journalStreams is a prototype of checkpoints that add each point's
// delta to a journal count of its own (instrument and attribute set),
// instead of converting and rewriting the carried file: it measures what
// that design costs per checkpoint; nothing else uses it.
type journalStreams struct {
	j       *journal.Journal
	streams map[streamKey]*journal.Count
	c       converter
}

type streamKey struct {
	name  string
	attrs attribute.Distinct
}

func (s *journalStreams) add(rm *metricdata.ResourceMetrics) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for i := range sum.DataPoints {
				p := &sum.DataPoints[i]
				k := streamKey{m.Name, p.Attributes.Equivalent()}
				c, ok := s.streams[k]
				if !ok {
					s.c.w.Reset(nil)
					_, _ = s.c.writeSet(&p.Attributes)
					counted, _ := s.j.NewCount(journal.KindMember, m.Name, journal.TypeJSON, s.c.w.Bytes())
					c = counted.Count
					s.streams[k] = c
				}
				c.Add(p.Value)
			}
		}
	}
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
