package fleetprocessor

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"
)

// attrInstanceID is the resource attribute that names an instance.
const attrInstanceID = "service.instance.id"

// fleetProcessor aggregates instances into fleet series, passes the
// sample through at once, and sends the fleet series on a timer.
type fleetProcessor struct {
	cfg    *Config
	logger *zap.Logger
	next   consumer.Metrics
	now    func() time.Time

	mu    sync.Mutex
	agg   *aggregator
	start time.Time
	// warnedReturn is set once the log has said the window looks short.
	warnedReturn bool

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func newProcessor(cfg *Config, set processor.Settings, next consumer.Metrics) *fleetProcessor {
	return &fleetProcessor{
		cfg: cfg, logger: set.Logger, next: next, now: time.Now,
		agg: newAggregator(cfg),
	}
}

func (p *fleetProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (p *fleetProcessor) Start(context.Context, component.Host) error {
	p.start = p.now()
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	if p.cfg.MinInstances == 1 {
		p.logger.Warn("min_instances is 1: every value is published, however few instances report it")
	}
	go p.exportLoop()
	return nil
}

// Shutdown sends the fleet series one last time, so that a replica that
// stops cleanly leaves its totals complete.
func (p *fleetProcessor) Shutdown(ctx context.Context) error {
	if p.stop == nil {
		return nil
	}
	stopped := false
	p.stopOnce.Do(func() { close(p.stop); stopped = true })
	if !stopped {
		return nil
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.export(ctx)
}

func (p *fleetProcessor) exportLoop() {
	defer close(p.done)
	t := time.NewTicker(p.cfg.ExportInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ExportInterval)
			if err := p.export(ctx); err != nil {
				// The series are cumulative: the next export carries it all.
				p.logger.Warn("sending the fleet series failed; the next export sends them whole", zap.Error(err))
			}
			cancel()
		}
	}
}

// export ends the window of quiet instances and sends the fleet series.
func (p *fleetProcessor) export(ctx context.Context) error {
	p.mu.Lock()
	now := p.now().UnixNano()
	p.agg.sweep(now)
	md := p.agg.snapshot(p.start.UnixNano(), now)
	p.mu.Unlock()
	return p.next.ConsumeMetrics(ctx, md)
}

// ConsumeMetrics takes in the instances' metrics and passes the sampled
// instances' on; resources without an instance pass through untouched.
// The sample goes first: when the next consumer refuses it, nothing is
// aggregated, so that the client's retry does not count twice.
func (p *fleetProcessor) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	pass := pmetric.NewMetrics()
	hashes := make([]uint64, md.ResourceMetrics().Len())
	for i, rm := range md.ResourceMetrics().All() {
		id, ok := rm.Resource().Attributes().Get(attrInstanceID)
		if ok {
			hashes[i] = instanceHash(id.AsString())
		}
		if !ok || p.agg.sampled(hashes[i]) {
			rm.CopyTo(pass.ResourceMetrics().AppendEmpty())
		}
	}
	if pass.ResourceMetrics().Len() > 0 {
		if err := p.next.ConsumeMetrics(ctx, pass); err != nil {
			return err
		}
	}
	p.mu.Lock()
	now := p.now().UnixNano()
	returned := p.agg.returned
	for i, rm := range md.ResourceMetrics().All() {
		if _, ok := rm.Resource().Attributes().Get(attrInstanceID); ok {
			p.agg.add(hashes[i], rm.ScopeMetrics(), now)
		}
	}
	warn := p.agg.returned > returned && !p.warnedReturn
	p.warnedReturn = p.warnedReturn || warn
	p.mu.Unlock()
	if warn {
		p.logger.Warn("an instance reported again after its window had ended: window is shorter than its update interval, and value counts miss such instances between updates",
			zap.Duration("window", p.cfg.Window))
	}
	return nil
}
