package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telemetrybridge/telemetry/internal/journal"
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
	spool    *spool           // nil without WithSpool
	journal  *journal.Journal // nil without a spool; see Journal
	// journalTaken is set once a recorder took the journal.
	journalTaken atomic.Bool
	// unmergedOnce reports carried figures that merging lost, once.
	unmergedOnce sync.Once
	// spoolQuiet holds back the spool's reports during checkpoints.
	spoolQuiet spoolQuiet
	// carriedUnsaved is set when a checkpoint could not write the carried
	// figures: the next writes them even if it collected nothing.
	carriedUnsaved atomic.Bool
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
	e.carried.unmerged = e.noteUnmerged
	if cfg.spoolDir != "" && cfg.writer == nil {
		e.openSpool()
		e.openJournal()
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
	u, _, err := e.prepare(rm, 0)
	if u != nil {
		_, err = e.deliver(ctx, u, sendPolicy{})
	}
	return err
}

// ForceFlush does nothing: the exporter holds no data between exports.
func (e *Exporter) ForceFlush(ctx context.Context) error { return ctx.Err() }

// Shutdown makes every later Export fail without sending. Figures still
// in the spool stay there for the next process.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.shutdown.Store(true)
	if e.journal.Empty() && e.spool != nil {
		// Everything was handed over: nothing for a later process to
		// claim. (Windows keeps a mapped file; it is claimed, empty.)
		_ = e.spool.remove(filepath.Base(e.journal.Path()))
	}
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

// update is a collection written as one update, ready to be sent.
type update struct {
	conv    *converter
	body    *[]byte
	entries []entry
	spooled string // its spool file, or ""
	gen     uint64 // the collection's generation, 0 for a plain Export
}

// prepare builds the update of a collection and writes it to the spool;
// once it is there, the journal hands the collection of generation gen
// over to it. A nil update means there is nothing to send: the exporter is
// shut down or stopped, or (local mode) the update was written out.
func (e *Exporter) prepare(rm *metricdata.ResourceMetrics, gen uint64) (*update, schedule, error) {
	if e.shutdown.Load() {
		return nil, schedule{stop: true}, fmt.Errorf("telemetry exporter: %w", sdkmetric.ErrExporterShutdown)
	}
	if e.stopped.Load() {
		return nil, schedule{stop: true}, nil
	}
	e.claimSpooled()
	// The converter's buffers back the entries until they are written and,
	// if carried over, detached.
	u := &update{conv: e.buffers.takeConverter(), gen: gen}
	entries, problems := e.convert(u.conv, rm)
	carried, took := e.carried.take()
	// Figures kept before their key was disabled (by configuration or by
	// the server) are not sent.
	carried = slices.DeleteFunc(carried, func(en entry) bool { return e.filter.disabled(en.key) })
	entries, dropped, unmerged := mergeCarried(entries, carried)
	e.noteUnmerged(unmerged)
	u.entries = addDropped(entries, dropped+unmerged)
	body, encodeProblems := e.buildPayload(u.entries, time.Now())
	u.body = body
	for _, p := range append(problems, encodeProblems...) {
		e.report(p)
	}
	if e.cfg.writer != nil {
		_ = e.carried.taken()
		defer e.release(u)
		s, err := e.writeLocal(*u.body)
		e.journal.Commit(gen)
		return nil, s, err
	}
	var onDisk bool
	u.spooled, onDisk = e.spool.beginUpdate(u.entries, spoolMeta{gen: max(gen, took.gen), took: took.took})
	_ = e.carried.taken() // what take returned is in the update's file now
	if onDisk {
		e.journal.Commit(gen)
	}
	return u, schedule{}, nil
}

// deliver sends a prepared update and follows up: figures not delivered,
// when the server did not end reporting, go with the next update.
func (e *Exporter) deliver(ctx context.Context, u *update, policy sendPolicy) (schedule, error) {
	defer e.release(u)
	s, err := e.send(ctx, *u.body, policy)
	if err != nil && !s.stop {
		_ = e.carried.keepUpdate(u.entries, u.gen, u.spooled)
	}
	if err == nil {
		e.journal.Commit(u.gen) // delivered, should the spool have failed
	}
	e.spool.endUpdate(u.spooled)
	e.carried.forget(u.spooled)
	return s, err
}

// release gives an update's buffers back for the next one.
func (e *Exporter) release(u *update) {
	e.buffers.keepBody(u.body)
	e.buffers.keepConverter(u.conv)
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
