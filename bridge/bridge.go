package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/journal"
)

// ScopeName is the instrumentation scope of everything the bridge records.
const ScopeName = "github.com/telemetrybridge/telemetry/bridge"

// flushInstrument names the observable instrument whose callback moves the
// tallies into the SDK at the start of each collection. It never observes
// anything, so it never appears in any reader's data.
const flushInstrument = "telemetry.bridge.flush"

// Bridge records the documented telemetry calls as OpenTelemetry data. It
// builds the MeterProvider that carries them: the telemetry Reader of its
// exporter, plus any readers given with WithReader. It is safe for
// concurrent use; recording never blocks on the network.
type Bridge struct {
	exp      *exporter.Exporter
	journal  *journal.Journal // nil without a spool: counts and values live in memory
	hand     handover
	reader   *exporter.Reader
	provider *sdkmetric.MeterProvider
	meter    metric.Meter
	primary  *producer // the telemetry reader's producer: it ends intervals

	mu      sync.Mutex // entry creation and replacement, producers, sweeping
	entries *table[string, *entry]
	recent  [recentSlots]atomic.Pointer[entry] // see liveEntry
	limit   *limiter
	seq     atomic.Uint64 // sequence numbers of held values
	// reportedHigh is the highest sequence number any producer reported.
	reportedHigh atomic.Uint64
	closed       atomic.Bool

	producers []*producer         // guarded by mu
	named     map[string]struct{} // instrument names taken; guarded by mu
	reported  sync.Map            // misuse messages reported in this interval
	nReported atomic.Int64
}

// Option configures a Bridge.
type Option interface{ apply(*config) }

type config struct {
	readers      []func(sdkmetric.Producer) sdkmetric.Reader
	providerOpts []sdkmetric.Option
	readerOpts   []exporter.ReaderOption
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithReader adds a reader, such as a PeriodicReader over an OTLP
// exporter, that sees the same figures as the telemetry server. newReader
// receives the producer that carries the values instruments cannot; pass it
// to the reader with sdkmetric.WithProducer.
func WithReader(newReader func(sdkmetric.Producer) sdkmetric.Reader) Option {
	return optionFunc(func(c *config) { c.readers = append(c.readers, newReader) })
}

// WithMeterProviderOptions passes options (a resource, views, more
// readers) to the MeterProvider the bridge builds.
func WithMeterProviderOptions(opts ...sdkmetric.Option) Option {
	return optionFunc(func(c *config) { c.providerOpts = append(c.providerOpts, opts...) })
}

// WithReaderOptions passes options to the telemetry Reader.
func WithReaderOptions(opts ...exporter.ReaderOption) Option {
	return optionFunc(func(c *config) { c.readerOpts = append(c.readerOpts, opts...) })
}

// New returns a Bridge that reports through exp. The key filter of exp
// (start-up and server-disabled keys) also decides what the bridge keeps.
func New(exp *exporter.Exporter, opts ...Option) (*Bridge, error) {
	if exp == nil {
		return nil, errors.New("telemetry bridge: New needs an exporter: create one with exporter.New")
	}
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	b := &Bridge{exp: exp, journal: exp.Journal(), limit: newLimiter(), entries: newTable[string, *entry](), named: make(map[string]struct{})}
	b.hand.b = b
	b.primary = b.newProducer()
	own := []exporter.ReaderOption{exporter.WithProducer(b.primary), exporter.WithHandover(&b.hand)}
	b.reader = exporter.NewReader(exp, append(own, cfg.readerOpts...)...)
	// Exemplars tie measurements to traces; telemetry keys have none, and
	// sampling them would cost every collection. A caller's own options,
	// applied after, may turn them back on.
	providerOpts := []sdkmetric.Option{sdkmetric.WithReader(b.reader), sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter)}
	for _, newReader := range cfg.readers {
		providerOpts = append(providerOpts, sdkmetric.WithReader(newReader(b.newProducer())))
	}
	b.provider = sdkmetric.NewMeterProvider(append(providerOpts, cfg.providerOpts...)...)
	b.meter = b.provider.Meter(ScopeName)
	if _, err := b.meter.Int64ObservableGauge(flushInstrument, metric.WithInt64Callback(b.flush)); err != nil {
		return nil, fmt.Errorf("telemetry bridge: registering the collection hook: %w", err)
	}
	return b, nil
}

// MeterProvider is the provider that carries the bridge's figures. A
// program can create its own instruments from it, so that they reach the
// same readers.
func (b *Bridge) MeterProvider() *sdkmetric.MeterProvider { return b.provider }

// Reader is the telemetry reader, which follows the server's schedule.
func (b *Bridge) Reader() *exporter.Reader { return b.reader }

// Start sends the first update now and then follows the server's schedule.
func (b *Bridge) Start() { b.reader.Start() }

// Shutdown sends a final update, shuts every reader down and makes later
// recording a no-op. It returns by ctx's deadline.
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

// instrumentError reports an instrument the SDK refused. A name longer than
// the SDK's 255 bytes is not reported: the SDK still returns a working
// instrument, and the exporter restores the key from it.
func (b *Bridge) instrumentError(key string, err error) {
	if err != nil && !errors.Is(err, sdkmetric.ErrInstrumentName) {
		b.report(fmt.Errorf("instrument for key %q: %w", key, err))
	}
}

// report hands a problem to the exporter's error handler (WithErrorHandler,
// else OTel's global one).
func (b *Bridge) report(err error) { b.exp.Report(fmt.Errorf("telemetry bridge: %w", err)) }

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
