package bridge

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telemetrybridge/telemetry/payload"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/internal/journal"
)

// ScopeName is the instrumentation scope of everything the bridge records.
const ScopeName = "github.com/telemetrybridge/telemetry/bridge"

// KeyFilter is what the bridge needs from whoever sends its figures: which
// keys to keep, and where its problems go. *exporter.Exporter is one: its
// filter holds the keys disabled at start-up and by the server, and its
// error handler takes every problem of the client.
type KeyFilter interface {
	// KeyDisabled reports whether key may be neither kept nor sent. It is
	// asked on a recording call only when KeyFilterVersion moved.
	KeyDisabled(key string) bool
	// KeyFilterVersion changes whenever KeyDisabled may answer otherwise
	// for some key, so that the bridge can remember an answer.
	KeyFilterVersion() uint64
	// Report takes a problem the bridge found (a misused key, a value it
	// cannot keep). It must not block.
	Report(err error)
}

// CollectionHooks is the bridge's part in each collection of its telemetry
// reader. That reader calls BeginCollection before the SDK collects and
// EndCollection once it has, numbering its collections from 1 (their
// generation), one at a time; a checkpoint keeps figures on disk without
// ending the update interval. exporter.Handover has the same methods.
type CollectionHooks interface {
	BeginCollection(gen uint64, checkpoint bool)
	EndCollection()
}

// Bridge records the documented telemetry calls as OpenTelemetry data. It
// builds the MeterProvider that carries them: the telemetry reader its
// caller builds (see New), plus any readers given with WithReader. It is
// safe for concurrent use; recording never blocks on the network.
type Bridge struct {
	filter   KeyFilter
	journal  *journal.Journal // nil without WithJournal: counts and values live in memory
	hand     handover
	reader   sdkmetric.Reader // the telemetry reader
	provider *sdkmetric.MeterProvider
	primary  *producer // the telemetry reader's producer: it ends intervals

	mu        sync.Mutex // entry creation and replacement, producers, sweeping
	entries   *table[string, *entry]
	recent    [recentSlots]atomic.Pointer[entry] // see liveEntry
	intervals *intervals                         // the update interval and the numbering of changes
	closed    atomic.Bool
	// evictionGrace and maxWaiting are defaultEvictionGrace and
	// maxWaitingForReaders; tests of freeing lower them before they record.
	evictionGrace time.Duration
	maxWaiting    int

	producers     []*producer         // guarded by mu
	producerCount atomic.Int32        // len(producers), read by moveCounts, which cannot take mu
	named         map[string]struct{} // metric names taken by counts (metricFor); guarded by mu
	reported      sync.Map            // misuse messages reported in this interval
	nReported     atomic.Int64
}

// Option configures a Bridge.
type Option interface{ apply(*config) }

type config struct {
	readers      []readerToBuild
	providerOpts []sdkmetric.Option
	journal      *journal.Journal
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// readerToBuild is a reader added with WithReader or WithDeltaReader.
type readerToBuild struct {
	build func(sdkmetric.Producer) sdkmetric.Reader
	delta bool
}

// WithReader adds a reader, such as a PeriodicReader over an OTLP
// exporter, that sees the same figures as the telemetry server. newReader
// receives the producer that carries the bridge's figures; pass it to the
// reader with sdkmetric.WithProducer. Counts reach that reader as
// cumulative sums, whatever its temporality selector (a producer cannot
// ask its reader); use WithDeltaReader for a reader that wants deltas.
// The program's own instruments follow the selector as usual.
func WithReader(newReader func(sdkmetric.Producer) sdkmetric.Reader) Option {
	return optionFunc(func(c *config) { c.readers = append(c.readers, readerToBuild{build: newReader}) })
}

// WithDeltaReader is WithReader for a reader whose exporter wants deltas:
// the bridge's counts reach it as what was added since its previous
// collection.
func WithDeltaReader(newReader func(sdkmetric.Producer) sdkmetric.Reader) Option {
	return optionFunc(func(c *config) { c.readers = append(c.readers, readerToBuild{build: newReader, delta: true}) })
}

// WithMeterProviderOptions passes options (a resource, views, more
// readers) to the MeterProvider the bridge builds.
func WithMeterProviderOptions(opts ...sdkmetric.Option) Option {
	return optionFunc(func(c *config) { c.providerOpts = append(c.providerOpts, opts...) })
}

// WithJournal keeps counts and values in j, so that they outlive the
// process (see the package doc, "Surviving the process"). The telemetry
// reader must then be the one whose collections commit j's generations:
// with package exporter, j is the exporter's Journal and the reader is
// built over the same exporter. A nil j keeps them in memory, as without
// the option.
func WithJournal(j *journal.Journal) Option {
	return optionFunc(func(c *config) { c.journal = j })
}

// New returns a Bridge whose keys filter keeps or drops, and whose
// telemetry reader, the one that sends to the telemetry server, newReader
// builds. newReader must give producer to the reader (it carries the
// bridge's figures, and ends each update interval) and have the
// reader call hooks around each of its collections; with package exporter:
//
//	exporter.NewReader(exp, exporter.WithProducer(producer), exporter.WithHandover(hooks))
//
// The caller starts that reader; the bridge collects from it on Reset and
// shuts it down with the rest on Shutdown. A nil filter or newReader is an
// error, as is a newReader that returns nil.
func New(filter KeyFilter, newReader func(producer sdkmetric.Producer, hooks CollectionHooks) sdkmetric.Reader, opts ...Option) (*Bridge, error) {
	if isNil(filter) {
		return nil, errors.New("telemetry bridge: New needs a key filter, such as an *exporter.Exporter")
	}
	if newReader == nil {
		return nil, errors.New("telemetry bridge: New needs a function that builds the telemetry reader")
	}
	var cfg config
	for _, o := range opts {
		if isNil(o) {
			return nil, errors.New("telemetry bridge: New was given a nil Option")
		}
		o.apply(&cfg)
	}
	for _, newOther := range cfg.readers {
		if newOther.build == nil {
			return nil, errors.New("telemetry bridge: WithReader was given a nil function: pass one that builds the reader")
		}
	}
	b := &Bridge{filter: filter, journal: cfg.journal, intervals: newIntervals(), entries: newTable[string, *entry](), named: make(map[string]struct{}), evictionGrace: defaultEvictionGrace, maxWaiting: maxWaitingForReaders}
	b.hand.b = b
	b.primary = b.newProducer(true)
	if b.reader = newReader(b.primary, &b.hand); isNil(b.reader) {
		return nil, errors.New("telemetry bridge: the function given to New built no telemetry reader (nil)")
	}
	// Exemplars tie measurements to traces; telemetry keys have none, and
	// sampling them would cost every collection. A caller's own options,
	// applied after, may turn them back on.
	providerOpts := []sdkmetric.Option{sdkmetric.WithReader(b.reader), sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter)}
	for _, newOther := range cfg.readers {
		other := newOther.build(b.newProducer(newOther.delta))
		if isNil(other) {
			return nil, errors.New("telemetry bridge: a function given to WithReader built no reader (nil)")
		}
		providerOpts = append(providerOpts, sdkmetric.WithReader(other))
	}
	b.provider = sdkmetric.NewMeterProvider(append(providerOpts, cfg.providerOpts...)...)
	return b, nil
}

// isNil reports whether v is nil or holds a nil pointer, which would fail
// only at the first call made through it.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}

// MeterProvider is the provider that carries the bridge's figures. A
// program can create its own instruments from it, so that they reach the
// same readers.
func (b *Bridge) MeterProvider() *sdkmetric.MeterProvider { return b.provider }

// Shutdown shuts every reader down, which for a started telemetry reader
// (exporter.Reader) sends the final update, and makes later recording a
// no-op. It returns by ctx's deadline.
func (b *Bridge) Shutdown(ctx context.Context) error {
	err := b.provider.Shutdown(ctx)
	b.closed.Store(true)
	return err
}

// Reset empties what the telemetry server has not been sent yet, without
// sending it. Other readers keep their figures.
func (b *Bridge) Reset() {
	var discard metricdata.ResourceMetrics
	if err := b.reader.Collect(context.Background(), &discard); err != nil && !errors.Is(err, sdkmetric.ErrReaderShutdown) {
		b.report(fmt.Errorf("reset: %w", err))
	}
}

func instrumentName(key string) string { return payload.KeyToInstrumentName(key) }

// report hands a problem to the key filter's Report (the exporter's error
// handler, when the filter is the exporter).
func (b *Bridge) report(err error) { b.filter.Report(fmt.Errorf("telemetry bridge: %w", err)) }

// maxReported bounds the distinct misuse messages reported per interval.
const maxReported = 100

// misuse reports a programming error of the host, once per key and problem
// in each interval, so that a call in a hot loop cannot flood the log.
func (b *Bridge) misuse(key, problem string) {
	msg := fmt.Sprintf("key %q %s", key, problem)
	if _, seen := b.reported.LoadOrStore(msg, struct{}{}); seen || b.nReported.Add(1) > maxReported {
		return
	}
	b.report(errors.New(msg))
}
