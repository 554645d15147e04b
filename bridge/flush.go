package bridge

import (
	"context"

	"go.opentelemetry.io/otel/metric"
)

// flush moves every tally into its SDK instrument. The SDK calls it at the
// start of each collection, for each reader, before it reads the
// instruments' aggregations, so the counts land in the collection that
// triggered it. Each count is added once and reaches every reader's
// aggregation, which keeps per-reader delta and cumulative views exact.
//
// Why go around the SDK's synchronous path: a direct Add costs more than the
// whole mutex-and-map design this package replaces, and does not scale over
// cores; an atomic add on the hot path and one SDK Add per key per
// collection does.
//
// flush must not take b.mu: an instrument is created under b.mu, and
// creation waits for the SDK's pipeline lock, which a collection holds
// while it calls flush.
func (b *Bridge) flush(_ context.Context, _ metric.Int64Observer) error {
	b.entries.each(func(e *entry) {
		switch e.kind {
		case kindCounter:
			e.counter.drainTo(e.counter.record)
		case kindSet:
			e.set.each(func(v *setValue) { v.drainTo(e.set.record(v)) })
		}
	})
	return nil
}
