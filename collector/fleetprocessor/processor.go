package fleetprocessor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
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
	id     component.ID
	logger *zap.Logger
	next   consumer.Metrics
	now    func() time.Time

	// exportMu keeps exports one at a time (the loop's and Shutdown's),
	// so that snapshots are written in the order of their positions: an
	// older one written last would point at records a newer one deleted.
	exportMu sync.Mutex
	mu       sync.Mutex
	agg      *aggregator
	start    time.Time
	// keys are those of the updates applied, so that a resent update is
	// not counted again.
	keys *keySet
	// journal keeps the state across a crash; nil without storage.
	journal *journal
	// warnedReturn is set once the log has said the window looks short.
	warnedReturn bool

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func newProcessor(cfg *Config, set processor.Settings, next consumer.Metrics) *fleetProcessor {
	return &fleetProcessor{
		cfg: cfg, id: set.ID, logger: set.Logger, next: next, now: time.Now,
		agg: newAggregator(cfg), keys: newKeySet(cfg.Idempotency),
	}
}

func (p *fleetProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (p *fleetProcessor) Start(ctx context.Context, host component.Host) error {
	p.start = p.now()
	if p.cfg.MinInstances == 1 {
		p.logger.Warn("min_instances is 1: every value is published, however few instances report it")
	}
	if p.cfg.Storage != nil {
		if err := p.restore(ctx, host); err != nil {
			return err
		}
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
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
		// The loop's export hangs (in the next consumer). The storage is
		// closed once it ends all the same: a Collector that reloads its
		// configuration in this process opens the same file again.
		go func() {
			<-p.done
			if err := p.closeStorage(context.Background()); err != nil {
				p.logger.Warn("closing the fleet storage failed", zap.Error(err))
			}
		}()
		return ctx.Err()
	}
	err := p.export(ctx)
	return errors.Join(err, p.closeStorage(ctx))
}

// closeStorage closes the storage client, when there is one.
func (p *fleetProcessor) closeStorage(ctx context.Context) error {
	if p.journal == nil {
		return nil
	}
	return p.journal.client.Close(ctx)
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

// export ends the window of quiet instances, writes a snapshot of the
// state when there is storage, and sends the fleet series.
func (p *fleetProcessor) export(ctx context.Context) error {
	p.exportMu.Lock()
	defer p.exportMu.Unlock()
	p.mu.Lock()
	now := p.now().UnixNano()
	if p.journal != nil {
		// The sweep changes the state: logged, it is replayed in its place
		// should the snapshot below not be written.
		if err := p.journal.append(ctx, record{export: true, at: now}); err != nil {
			p.logger.Warn("logging an export failed: should the snapshot fail too, a restart replays the updates since without its sweep", zap.Error(err))
		}
	}
	p.agg.sweep(now)
	md := p.agg.snapshot(p.start.UnixNano(), now)
	var saved *savedState
	if p.journal != nil {
		saved = p.saveState()
	}
	p.mu.Unlock()
	if saved != nil {
		// Encoded and written outside the lock: updates go on meanwhile,
		// logged after the position the snapshot holds.
		if _, err := p.journal.writeSnapshot(ctx, saved); err != nil {
			p.logger.Warn("the fleet snapshot was not written; the log keeps every update since the last one", zap.Error(err))
		}
	}
	return p.next.ConsumeMetrics(ctx, md)
}

// ConsumeMetrics takes in the instances' metrics and passes the sampled
// instances' on; resources without an instance pass through untouched.
// The sample goes first: when the next consumer refuses it, nothing is
// aggregated, so that the client's retry does not count twice.
//
// An update whose Idempotency-Key was applied before is accepted and left
// out, sample included. With storage, the update is logged before it is
// applied, under the same lock, so that a snapshot holds an update
// exactly when the log's position says so.
func (p *fleetProcessor) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	hashes := instanceHashes(md)
	key, err := p.updateKey(ctx, hashes)
	if err != nil {
		return err
	}
	if key.key != "" {
		p.mu.Lock()
		applied := p.keys.applied(key, p.now().UnixNano())
		p.mu.Unlock()
		if applied {
			return nil
		}
	}
	if err := p.passSample(ctx, md, hashes); err != nil {
		return err
	}
	var data []byte
	if p.journal != nil {
		if data, err = (&pmetric.ProtoMarshaler{}).MarshalMetrics(md); err != nil {
			return consumererror.NewPermanent(fmt.Errorf("encoding the update for the fleet log: %w", err))
		}
	}
	p.mu.Lock()
	now := p.now().UnixNano()
	if key.key != "" && p.keys.applied(key, now) {
		// The same key went through meanwhile; the receiver's window
		// answers such a race with 409, so this is rare.
		p.mu.Unlock()
		return nil
	}
	if p.journal != nil {
		if err := p.journal.append(ctx, record{at: now, key: key.key, data: data}); err != nil {
			p.mu.Unlock()
			// Not applied: the client's retry is counted once. The sample
			// went on already and goes again with the retry; applying
			// first instead would lose it, since the retry's key would
			// then be applied.
			return err
		}
	}
	returned := p.agg.returned
	p.apply(md, hashes, key, now)
	warn := p.agg.returned > returned && !p.warnedReturn
	p.warnedReturn = p.warnedReturn || warn
	p.mu.Unlock()
	if warn {
		p.logger.Warn("an instance reported again after its window had ended: window is shorter than its update interval, and value counts miss such instances between updates",
			zap.Duration("window", p.cfg.Window))
	}
	return nil
}

// instanceHashes hashes each resource's instance ID (0 without one).
func instanceHashes(md pmetric.Metrics) []uint64 {
	hashes := make([]uint64, md.ResourceMetrics().Len())
	for i, rm := range md.ResourceMetrics().All() {
		if id, ok := rm.Resource().Attributes().Get(attrInstanceID); ok {
			hashes[i] = instanceHash(id.AsString())
		}
	}
	return hashes
}

// passSample sends the sampled instances' and the instance-less resources'
// metrics on, unchanged.
func (p *fleetProcessor) passSample(ctx context.Context, md pmetric.Metrics, hashes []uint64) error {
	pass := pmetric.NewMetrics()
	for i, rm := range md.ResourceMetrics().All() {
		_, ok := rm.Resource().Attributes().Get(attrInstanceID)
		if !ok || p.agg.sampled(hashes[i]) {
			rm.CopyTo(pass.ResourceMetrics().AppendEmpty())
		}
	}
	if pass.ResourceMetrics().Len() == 0 {
		return nil
	}
	return p.next.ConsumeMetrics(ctx, pass)
}

// apply counts an update at now and remembers its key; p.mu is held.
func (p *fleetProcessor) apply(md pmetric.Metrics, hashes []uint64, key updateKey, now int64) {
	for i, rm := range md.ResourceMetrics().All() {
		if _, ok := rm.Resource().Attributes().Get(attrInstanceID); ok {
			p.agg.add(hashes[i], rm.ScopeMetrics(), now)
		}
	}
	if key.key != "" {
		p.keys.add(key, now)
	}
}
