package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/bridge"
	"github.com/telemetrybridge/telemetry/exporter"
)

// Environment variables that configure the package without code changes.
const (
	// EnvEndpoint replaces the exporter's default base URL; the instance
	// UUID is appended to it. Options given in code take precedence.
	EnvEndpoint = "TELEMETRY_ENDPOINT"
	// EnvDisabledMetrics lists more keys to disable for good, separated by
	// commas.
	EnvDisabledMetrics = "TELEMETRY_DISABLED_METRICS"
	// EnvDoNotTrack set to 1 or true turns reporting off.
	EnvDoNotTrack = "DO_NOT_TRACK"
	// EnvOTelSDKDisabled set to true turns reporting off, as for every
	// OpenTelemetry SDK.
	EnvOTelSDKDisabled = "OTEL_SDK_DISABLED"
	// EnvMode selects how updates leave the program: "on" (the default)
	// sends them, "local" writes each payload to standard error instead,
	// "off" turns reporting off like DO_NOT_TRACK=1.
	EnvMode = "TELEMETRY_MODE"
	// EnvMetricTypes set to 1 or true makes updates state the OpenTelemetry
	// type of their keys (exporter.WithMetricTypes), for a server that
	// rebuilds metrics from them, such as the project's Collector receiver.
	EnvMetricTypes = "TELEMETRY_METRIC_TYPES"
	// EnvSpoolDir is where figures that could not be delivered are kept
	// for the next process (exporter.WithSpool); "off" keeps them in
	// memory only. Unset, they go under the user's cache directory: see
	// DefaultSpoolDir.
	EnvSpoolDir = "TELEMETRY_SPOOL_DIR"
)

// DefaultSpoolDir is where the package keeps the instance's undelivered
// figures and the server's directives when TELEMETRY_SPOOL_DIR is unset:
// the instance's own directory (named by a hash of its ID, not the ID)
// under telemetrybridge/spool in the user's cache directory, e.g.
// ~/.cache/telemetrybridge/spool/instance-3f2a9c0e1b4d5a67 on Linux and
// ~/Library/Caches/telemetrybridge/spool/... on macOS. With
// TELEMETRY_SPOOL_DIR set, the instance's files are in the same
// instance-<hash> directory under it (exporter.SpoolInstanceDir), so that
// instances configured alike keep their files apart. Removing the
// directory forgets the figures and the server's directives kept there.
func DefaultSpoolDir(instanceID uuid.UUID) (string, error) {
	base, err := defaultSpoolBase()
	if err != nil {
		return "", err
	}
	return exporter.SpoolInstanceDir(base, instanceID), nil
}

// defaultSpoolBase is the spool directory given to the exporter when
// TELEMETRY_SPOOL_DIR is unset; the exporter keeps each instance's files
// in a directory of its own under it.
func defaultSpoolBase() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "telemetrybridge", "spool"), nil
}

// spoolOptions picks the spool directory from the environment. The
// instance is not needed: the exporter keeps its files in the instance's
// own directory under the one given.
func spoolOptions(_ uuid.UUID) []exporter.Option {
	dir := strings.TrimSpace(os.Getenv(EnvSpoolDir))
	if strings.EqualFold(dir, "off") {
		return nil
	}
	if dir == "" {
		var err error
		if dir, err = defaultSpoolBase(); err != nil {
			otel.Handle(fmt.Errorf("telemetry: undelivered figures are kept in memory only: no cache directory (%w); set %s", err, EnvSpoolDir))
			return nil
		}
	}
	return []exporter.Option{exporter.WithSpool(dir)}
}

// optedOut reports whether the environment turns reporting off.
func optedOut() bool {
	return envTrue(EnvDoNotTrack) || envLower(EnvOTelSDKDisabled) == "true" || mode() == "off"
}

func envLower(name string) string { return strings.ToLower(strings.TrimSpace(os.Getenv(name))) }

// envTrue reads a variable that is on when it is 1 or true.
func envTrue(name string) bool {
	v := envLower(name)
	return v == "1" || v == "true"
}

func mode() string { return envLower(EnvMode) }

func envExporterOptions() []exporter.Option {
	var opts []exporter.Option
	if ep := strings.TrimSpace(os.Getenv(EnvEndpoint)); ep != "" {
		opts = append(opts, exporter.WithEndpoint(ep))
	}
	switch m := mode(); m {
	case "", "on", "off":
	case "local":
		opts = append(opts, exporter.WithWriter(os.Stderr))
	default:
		otel.Handle(fmt.Errorf("telemetry: %s=%q is not on, local or off; using on", EnvMode, m))
	}
	if envTrue(EnvMetricTypes) {
		opts = append(opts, exporter.WithMetricTypes(true))
	}
	if keys := os.Getenv(EnvDisabledMetrics); keys != "" {
		opts = append(opts, exporter.WithDisabledKeys(strings.Split(keys, ",")...))
	}
	return opts
}

// Option configures InitWithOptions.
type Option interface{ apply(*options) }

type options struct {
	exporter []exporter.Option
	reader   []exporter.ReaderOption
	bridge   []bridge.Option
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithExporterOptions configures the exporter: endpoint, HTTP client,
// retry, timeouts.
func WithExporterOptions(opts ...exporter.Option) Option {
	return optionFunc(func(o *options) { o.exporter = append(o.exporter, opts...) })
}

// WithReaderOptions configures the telemetry Reader, such as how often it
// checkpoints (exporter.WithCheckpointInterval).
func WithReaderOptions(opts ...exporter.ReaderOption) Option {
	return optionFunc(func(o *options) { o.reader = append(o.reader, opts...) })
}

// WithReader adds an OpenTelemetry reader (for example a PeriodicReader
// over an OTLP exporter) that receives the same figures. newReader gets the
// producer that carries them; pass it on with sdkmetric.WithProducer.
// Counts reach that reader as cumulative sums, whatever its temporality
// selector; use WithDeltaReader for one that wants deltas.
func WithReader(newReader func(sdkmetric.Producer) sdkmetric.Reader) Option {
	return optionFunc(func(o *options) { o.bridge = append(o.bridge, bridge.WithReader(newReader)) })
}

// WithDeltaReader is WithReader for a reader whose exporter wants deltas
// (a StatsD or Datadog pipeline, say): counts reach it as what was added
// since its previous collection.
func WithDeltaReader(newReader func(sdkmetric.Producer) sdkmetric.Reader) Option {
	return optionFunc(func(o *options) { o.bridge = append(o.bridge, bridge.WithDeltaReader(newReader)) })
}

// WithMeterProviderOptions passes options (a resource, views, readers) to
// the MeterProvider the package builds. Readers added here and views see
// only the program's own instruments; use WithReader or WithDeltaReader
// for a reader that should see the package's figures too.
func WithMeterProviderOptions(opts ...sdkmetric.Option) Option {
	return optionFunc(func(o *options) { o.bridge = append(o.bridge, bridge.WithMeterProviderOptions(opts...)) })
}
