package exporter

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/exporter/internal/spool"
	"github.com/telemetrybridge/telemetry/exporter/internal/streams"
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

	// endedByServer is set once the server ended reporting for good (a
	// stop directive, 410 Gone, 451): see Stopped.
	endedByServer atomic.Bool
	// closed is set by Shutdown: every later Export fails.
	closed   atomic.Bool
	failures failureLog
	carried  spool.Carried
	writeMu  sync.Mutex // serialises writes in local mode (WithWriter)
	buffers  convert.Buffers
	spool    *spool.Spool     // nil without WithSpool
	journal  *journal.Journal // nil without a spool; see Journal
	// streams keeps checkpointed integer sums in the journal (internal/streams);
	// nil without a journal.
	streams *streams.Table
	// commitMu makes the journal's commits one at a time (see commit).
	commitMu sync.Mutex
	// journalTaken is set once a recorder took the journal.
	journalTaken atomic.Bool
	// unmergedOnce reports carried figures that merging lost, once.
	unmergedOnce sync.Once
	// spoolQuiet holds back the spool's reports during checkpoints.
	spoolQuiet spoolQuiet
	// carriedUnsaved is set when a checkpoint could not write the carried
	// figures: the next writes them even if it collected nothing.
	carriedUnsaved atomic.Bool
	// pending are updates that may have reached the server without being
	// delivered: they go again, as they are, before any newer figures.
	pending pendingUpdates
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
func (e *Exporter) Stopped() bool { return e.endedByServer.Load() }

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
	u, _, err := e.prepare(ctx, rm, 0, sendPolicy{})
	if u != nil {
		_, err = e.deliver(ctx, u, sendPolicy{})
	}
	return err
}

// ForceFlush does nothing: the exporter sends when it is given a
// collection. What it holds between exports (figures carried from failed
// updates, an update that may have reached the server, both in the spool
// with WithSpool) goes with the next export, or stays in the spool for
// the next process.
func (e *Exporter) ForceFlush(ctx context.Context) error { return ctx.Err() }

// Shutdown makes every later Export fail without sending. Figures still
// in the spool stay there for the next process. It returns by ctx's
// deadline even while a claim of orphaned files holds the spool: nothing
// is written from then on, and the spool's locks go when the claim ends.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.closed.Store(true)
	if e.journal.Empty() && e.spool != nil {
		// Everything was handed over: nothing for a later process to
		// claim. (Windows keeps a mapped file; it is claimed, empty.)
		e.reportSpool(e.spool.RemoveJournal()...)
	}
	e.spool.Close(ctx)
	return ctx.Err()
}
