package exporter

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// cardinalityLimit is the most attribute sets the Reader keeps per
// instrument between two updates: the protocol's 100,000 items, plus the
// SDK's overflow set. The SDK's default of 2,000 would fold the values of a
// large counting set into one overflow point.
const cardinalityLimit = 100_000 + 1

// Reader is an sdkmetric.Reader that collects and exports on the schedule
// the telemetry server sets, instead of on a fixed period. Register it with
// a MeterProvider (sdkmetric.WithReader), then call Start.
//
// The SDK's ManualReader does the collecting; Reader only decides when.
type Reader struct {
	sdkmetric.Reader // a *sdkmetric.ManualReader

	exp *Exporter
	// inFlight holds a token while an update is being collected and sent:
	// scheduled updates skip when it is taken, the final one waits for it.
	inFlight chan struct{}
	lastNext atomic.Int64 // the schedule's latest wait, in nanoseconds
	// shutdownBegun is closed when Shutdown begins: the schedule sends nothing
	// new, and an update in flight stops retrying.
	shutdownBegun chan struct{}

	// collectMu makes collections, and the writing of what they took to
	// the spool, one at a time, so that generations hand over in order
	// (see Handover); sending happens outside it.
	collectMu ctxMutex
	gens      uint64 // the latest collection's generation; under collectMu
	// reused is what checkpoints collect into; under collectMu.
	reused   reusedCollection
	handover Handover
	// checkpointEvery is the least wait between two checkpoints (see
	// checkpoints); 0 for none.
	checkpointEvery time.Duration

	mu      sync.Mutex // guards started, cancel and done, and the closing of shutdownBegun
	started bool
	cancel  context.CancelFunc // aborts the schedule loop's update in flight
	done    chan struct{}      // closed when the loop has returned

	shutdownOnce sync.Once
}

// ReaderOption configures a Reader.
type ReaderOption interface{ applyReader(*readerConfig) }

type readerConfig struct {
	producers       []sdkmetric.Producer
	handover        Handover
	checkpointEvery time.Duration
}

type readerOptionFunc func(*readerConfig)

func (f readerOptionFunc) applyReader(c *readerConfig) { f(c) }

// WithProducer adds a source of metrics outside the SDK's instruments, such
// as the bridge package's producer, to every collection of the Reader.
func WithProducer(p sdkmetric.Producer) ReaderOption {
	return readerOptionFunc(func(c *readerConfig) { c.producers = append(c.producers, p) })
}

// DefaultCheckpointInterval is the least wait between two checkpoints of a
// Reader whose exporter has a spool, unless WithCheckpointInterval says
// otherwise.
const DefaultCheckpointInterval = 250 * time.Millisecond

// WithCheckpointInterval sets the least wait between two checkpoints: while
// it runs, a Reader whose exporter has a spool (WithSpool) collects what the
// SDK's instruments recorded, and keeps it in the spool, this often, so that
// a process that dies at any moment loses at most about this much of it.
// (The bridge's own figures live in the spool's journal and lose nothing.)
// The wait is also at least 125 times the last checkpoint's duration, so
// that checkpoints take at most about 1 % of one core. 0 or less turns
// checkpoints off; the default is DefaultCheckpointInterval.
func WithCheckpointInterval(d time.Duration) ReaderOption {
	return readerOptionFunc(func(c *readerConfig) { c.checkpointEvery = max(d, 0) })
}

// NewReader returns a Reader that exports through exp. The Reader owns exp:
// shutting the Reader down shuts exp down.
func NewReader(exp *Exporter, opts ...ReaderOption) *Reader {
	cfg := readerConfig{checkpointEvery: DefaultCheckpointInterval}
	for _, o := range opts {
		o.applyReader(&cfg)
	}
	manualOpts := []sdkmetric.ManualReaderOption{
		sdkmetric.WithTemporalitySelector(exp.Temporality),
		sdkmetric.WithAggregationSelector(exp.Aggregation),
		sdkmetric.WithCardinalityLimitSelector(func(sdkmetric.InstrumentKind) (int, bool) { return cardinalityLimit, false }),
	}
	r := &Reader{
		exp:           exp,
		handover:      cfg.handover,
		inFlight:      make(chan struct{}, 1),
		collectMu:     make(ctxMutex, 1),
		shutdownBegun: make(chan struct{}),

		checkpointEvery: cfg.checkpointEvery,
	}
	for _, p := range cfg.producers {
		manualOpts = append(manualOpts, sdkmetric.WithProducer(r.reused.wrap(p)))
	}
	r.Reader = sdkmetric.NewManualReader(manualOpts...)
	return r
}

// Start sends the first update at once, in the background, and then keeps
// sending updates when the server's answers say, until the server stops the
// cycle or Shutdown is called. Starting twice, or after Shutdown, does
// nothing and reports the misuse.
func (r *Reader) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.shuttingDown() {
		r.exp.reportOwnf("Reader.Start called more than once or after Shutdown; ignored")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.started, r.cancel, r.done = true, cancel, make(chan struct{})
	go r.run(ctx, r.done)
}

func (r *Reader) run(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	if r.exp.spooling() && r.checkpointEvery > 0 {
		// Checkpoints end with the schedule: done is closed once the
		// one under way, if any, has returned.
		quit, ended := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(ended)
			r.checkpoints(ctx, quit)
		}()
		defer func() { close(quit); <-ended }()
	}
	for first := true; ; first = false {
		s := r.scheduledUpdate(ctx, first)
		if s.stop || ctx.Err() != nil {
			return
		}
		if sleep(ctx, s.next, r.shutdownBegun) != nil {
			return
		}
	}
}

// scheduledUpdate sends an update unless one is already in flight, in which
// case it is skipped and the loop tries again after the latest wait. Once
// Shutdown has begun, only the first update, which Start promised, still
// goes out.
func (r *Reader) scheduledUpdate(ctx context.Context, first bool) schedule {
	select {
	case r.inFlight <- struct{}{}:
	default:
		return schedule{next: time.Duration(r.lastNext.Load())}
	}
	defer func() { <-r.inFlight }()
	if !first && r.shuttingDown() {
		return schedule{stop: true}
	}
	s, err := r.update(ctx, sendPolicy{abort: r.shutdownBegun})
	switch {
	case err != nil && ctx.Err() == nil:
		if r.exp.failures.fail(err) {
			r.exp.reportOwn(err)
		}
	case err == nil:
		if n := r.exp.failures.succeed(); n > 0 {
			r.exp.reportOwnf("updates are delivered again, after %d failed", n)
		}
	}
	return s
}

// update collects and delivers one update. The caller holds inFlight.
func (r *Reader) update(ctx context.Context, policy sendPolicy) (schedule, error) {
	u, s, err := r.prepareUpdate(ctx, policy)
	if u != nil {
		s, err = r.exp.deliver(ctx, u, policy)
	}
	if !s.stop {
		r.lastNext.Store(int64(s.next))
	}
	return s, err
}

// prepareUpdate collects an update and writes it to the spool.
func (r *Reader) prepareUpdate(ctx context.Context, policy sendPolicy) (*update, schedule, error) {
	if err := r.collectMu.lock(ctx); err != nil {
		return nil, schedule{stop: true}, err
	}
	defer r.collectMu.unlock()
	c := r.collect(ctx, false)
	if err := c.err; err != nil {
		if errors.Is(err, sdkmetric.ErrReaderShutdown) || ctx.Err() != nil {
			return nil, schedule{stop: true}, err
		}
		// A failing producer must not cost the rest of the update, and an
		// update with no data still serves the server as a heartbeat.
		r.exp.reportOwnf("collecting metrics: %w", err)
	}
	return r.exp.prepare(ctx, c.rm, c.gen, policy)
}

// ForceFlush sends an update now, after any update in flight, and returns
// when it is delivered, has failed, or ctx is done. Once Shutdown has
// begun it sends nothing: the final update carries the figures.
func (r *Reader) ForceFlush(ctx context.Context) error {
	select {
	case r.inFlight <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.inFlight }()
	if r.shuttingDown() {
		return sdkmetric.ErrReaderShutdown
	}
	_, err := r.update(ctx, sendPolicy{})
	return err
}

func (r *Reader) shuttingDown() bool {
	select {
	case <-r.shutdownBegun:
		return true
	default:
		return false
	}
}

// Shutdown ends the schedule, sends one final update if the Reader was
// started, and shuts the Reader and its Exporter down. An update in flight
// finishes its current attempt (no more retries) before the final update
// goes out; the final update does not wait out a 429 answer; and
// everything returns by ctx's deadline, abandoning what is still running
// then. Calls after the first return sdkmetric.ErrReaderShutdown.
func (r *Reader) Shutdown(ctx context.Context) error {
	err := sdkmetric.ErrReaderShutdown
	r.shutdownOnce.Do(func() { err = r.shutdown(ctx) })
	return err
}

func (r *Reader) shutdown(ctx context.Context) error {
	r.mu.Lock()
	close(r.shutdownBegun)
	started, cancel, done := r.started, r.cancel, r.done
	r.mu.Unlock()

	var errs []error
	if started {
		r.spoolWhileInFlight(ctx)
		// The caller's bound also bounds the update in flight.
		stopAbort := context.AfterFunc(ctx, cancel)
		defer stopAbort()
		defer cancel()
		select {
		case <-done:
			errs = append(errs, r.finalUpdate(ctx))
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		}
	}
	errs = append(errs, r.Reader.Shutdown(ctx), r.exp.Shutdown(ctx))
	return errors.Join(errs...)
}

func (r *Reader) finalUpdate(ctx context.Context) error {
	select {
	case r.inFlight <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.inFlight }()
	_, err := r.update(ctx, sendPolicy{final: true})
	return err
}
