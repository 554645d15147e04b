package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Exporter sends metric collections to a telemetry server as protocol
// payloads and follows the server's answers. It is safe for concurrent use.
type Exporter struct {
	cfg      config
	url      string // the request URL; it holds the private instance ID
	redacted string // the URL as it may appear in errors and logs
	filter   *keyFilter

	stopped  atomic.Bool // the server said stop, or retired the endpoint
	shutdown atomic.Bool
	failures failureLog
	carried  carryOver
	writeMu  sync.Mutex // serialises writes in local mode (WithWriter)
	buffers  buffers
	spool    *spool // nil without WithSpool
}

var _ sdkmetric.Exporter = (*Exporter)(nil)

// New returns an Exporter. WithInstanceID is required.
func New(opts ...Option) (*Exporter, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	e := &Exporter{
		cfg:      cfg,
		url:      cfg.endpoint + cfg.instanceID.String(),
		redacted: cfg.endpoint + "<instance-id>",
		filter:   newKeyFilter(cfg.disabledKeys),
	}
	if cfg.spoolDir != "" && cfg.writer == nil {
		e.openSpool()
	}
	return e, nil
}

// KeyDisabled reports whether key may be neither kept nor sent, because it
// was disabled at start-up or by the server. It takes no lock, so recording
// code can call it on every measurement.
func (e *Exporter) KeyDisabled(key string) bool { return e.filter.disabled(key) }

// KeyFilterVersion changes whenever the set of disabled keys changes. A
// recorder may remember that a key was enabled under one version and skip
// KeyDisabled while the version stays the same.
func (e *Exporter) KeyFilterVersion() uint64 { return e.filter.version.Load() }

// Stopped reports whether the server has ended reporting for good (a stop
// directive, 410 Gone or 451). A stopped exporter sends nothing more.
func (e *Exporter) Stopped() bool { return e.stopped.Load() }

// Temporality is delta for every instrument kind: each update carries what
// happened since the previous one.
func (e *Exporter) Temporality(sdkmetric.InstrumentKind) metricdata.Temporality {
	return metricdata.DeltaTemporality
}

// Aggregation is the SDK's default for every instrument kind.
func (e *Exporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

// Export sends rm as one update, retrying as configured, and applies the
// server's answer. It returns when the update is delivered, has failed
// every attempt, or ctx is done.
func (e *Exporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	_, err := e.deliver(ctx, rm, sendPolicy{})
	return err
}

// ForceFlush does nothing: the exporter holds no data between exports.
func (e *Exporter) ForceFlush(ctx context.Context) error { return ctx.Err() }

// Shutdown makes every later Export fail without sending. Figures still
// in the spool stay there for the next process.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.shutdown.Store(true)
	e.spool.close()
	return ctx.Err()
}

// schedule is what an update tells the reader to do next.
type schedule struct {
	next time.Duration // wait before the next update
	stop bool          // send no more updates
}

// sendPolicy says how hard an update tries.
type sendPolicy struct {
	// final marks the last update: it does not wait out a 429 answer.
	final bool
	// abort, when closed, ends waits between attempts: the update gives up
	// after its current attempt, so that a shutdown is not held up by
	// back-off.
	abort <-chan struct{}
}

// deliver builds, sends and follows up one update.
func (e *Exporter) deliver(ctx context.Context, rm *metricdata.ResourceMetrics, policy sendPolicy) (schedule, error) {
	if e.shutdown.Load() {
		return schedule{stop: true}, fmt.Errorf("telemetry exporter: %w", sdkmetric.ErrExporterShutdown)
	}
	if e.stopped.Load() {
		return schedule{stop: true}, nil
	}
	// The converter's buffers back the entries until they are written and,
	// if carried over, detached.
	e.claimSpooled()
	c := e.buffers.takeConverter()
	defer e.buffers.keepConverter(c)
	entries, problems := e.convert(c, rm)
	entries, dropped := withCarried(entries, e.carried.take())
	entries = addDropped(entries, dropped)
	body, encodeProblems := e.buildPayload(entries, time.Now())
	defer e.buffers.keepBody(body)
	for _, p := range append(problems, encodeProblems...) {
		e.report(p)
	}
	if e.cfg.writer != nil {
		return e.writeLocal(*body)
	}
	spooled := e.spool.beginUpdate(entries)
	e.carried.persist() // what take returned is in the update's file now
	s, err := e.send(ctx, *body, policy)
	if err != nil && !s.stop {
		// Not delivered, and the server did not end reporting: the next
		// update carries these figures.
		e.carried.keep(entries)
	}
	e.spool.endUpdate(spooled)
	return s, err
}

// writeLocal shows the payload instead of sending it. No server answers,
// so the default schedule applies.
func (e *Exporter) writeLocal(body []byte) (schedule, error) {
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		return schedule{next: defaultNextUpdate()}, fmt.Errorf("telemetry exporter: %w", err)
	}
	out.WriteByte('\n')
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if _, err := e.cfg.writer.Write(out.Bytes()); err != nil {
		return schedule{next: defaultNextUpdate()}, fmt.Errorf("telemetry exporter: writing the payload: %w", err)
	}
	return schedule{next: defaultNextUpdate()}, nil
}
