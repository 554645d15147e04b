package exporter

import (
	"context"
	"sync/atomic"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// reusedCollection is the ResourceMetrics that checkpoints collect into,
// kept from one checkpoint to the next: the SDK then reuses its slices
// instead of allocating 10,000 points anew (1.11 ms against 1.85 ms for
// 10,000 points, BenchmarkCheckpointParts, 3d78b64). Nothing a
// checkpoint keeps points into it: streams keep attribute sets, which do
// not change, and the carried figures are detached.
//
// The SDK reuses every slot of it, also those that a producer's scopes
// were appended to, whose slices belong to the producer; so after each
// checkpoint the slots the producers filled are cleared (release), and the
// producers are wrapped to say how many they filled.
type reusedCollection struct {
	rm        metricdata.ResourceMetrics
	producers []*countingProducer
}

// countingProducer remembers how many scopes its producer returned last.
type countingProducer struct {
	sdkmetric.Producer
	scopes atomic.Int64
}

func (p *countingProducer) Produce(ctx context.Context) ([]metricdata.ScopeMetrics, error) {
	sms, err := p.Producer.Produce(ctx)
	p.scopes.Store(int64(len(sms)))
	return sms, err
}

// wrap returns p, counted.
func (c *reusedCollection) wrap(p sdkmetric.Producer) sdkmetric.Producer {
	cp := &countingProducer{Producer: p}
	c.producers = append(c.producers, cp)
	return cp
}

// take returns the collection to collect into, emptied (the slices keep
// their room, which the SDK reuses): a collection that fails before the
// SDK fills it (its context is done) must not find the last checkpoint's
// points there. The caller holds the Reader's collect lock until release.
func (c *reusedCollection) take() *metricdata.ResourceMetrics {
	for _, p := range c.producers {
		p.scopes.Store(0)
	}
	c.rm.ScopeMetrics = c.rm.ScopeMetrics[:0]
	return &c.rm
}

// release clears the slots that producers filled, which the ManualReader
// appends after the SDK's own.
func (c *reusedCollection) release() {
	n := 0
	for _, p := range c.producers {
		n += int(p.scopes.Load())
	}
	sms := c.rm.ScopeMetrics
	clear(sms[max(0, len(sms)-n):])
}
