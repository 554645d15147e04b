package fleetprocessor

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
	"go.opentelemetry.io/collector/component"
)

// Config sets up the fleet processor. Every setting has a default but
// Replica, which each replica must set to a value of its own.
type Config struct {
	// Replica names this replica in every series it writes, so that two
	// replicas never write the same series (for example ${env:HOSTNAME}).
	Replica string `mapstructure:"replica"`
	// ReplicaAttribute is the data point attribute that carries Replica
	// (Prometheus label fleet_replica by default).
	ReplicaAttribute string `mapstructure:"replica_attribute"`
	// MetricPrefix starts the name of every aggregated metric, so that
	// they never share a name with the sampled instances' own metrics.
	MetricPrefix string `mapstructure:"metric_prefix"`
	// Window is how long an instance counts after its last update: its
	// values and readings count until then, and a value must have been
	// reported by MinInstances instances within it to be published. It
	// must be longer than the interval between an instance's updates.
	Window time.Duration `mapstructure:"window"`
	// ExportInterval is how often the aggregated series are sent on.
	ExportInterval time.Duration `mapstructure:"export_interval"`
	// MinInstances is the privacy threshold k: a series whose attribute
	// values fewer instances reported within Window is folded into its
	// metric's "other" series.
	MinInstances int `mapstructure:"min_instances"`
	// SampleRate is the share of instances (chosen by a hash of their ID,
	// the same on every replica) whose metrics also pass through
	// unchanged, with their service.instance.id.
	SampleRate float64 `mapstructure:"sample_rate"`
	// MaxInstances caps the instances whose values and readings are kept
	// (about 1 KB each: BENCHMARKS.md).
	MaxInstances int `mapstructure:"max_instances"`
	// MaxSeries caps the series kept: counts, value and reading slots, and
	// distinct values together.
	MaxSeries int `mapstructure:"max_series"`
	// Buckets are the upper bounds of the histograms of readings.
	Buckets []float64 `mapstructure:"buckets"`
	// Idempotency bounds the Idempotency-Key values remembered, so that an
	// update sent again is not counted again.
	Idempotency IdempotencyConfig `mapstructure:"idempotency"`
	// Storage names a storage extension (filestorage) that keeps the
	// fleet state across a crash; nil keeps it in memory only.
	Storage *component.ID `mapstructure:"storage"`
}

// IdempotencyConfig bounds the keys of applied updates the processor
// remembers, as the receiver's idempotency setting bounds its own.
type IdempotencyConfig struct {
	// MaxKeys bounds the keys remembered, the oldest forgotten first; 0
	// applies every update, key or not.
	MaxKeys int `mapstructure:"max_keys"`
	// MaxAge is how long a key is remembered.
	MaxAge time.Duration `mapstructure:"max_age"`
}

// defaultBuckets are powers of 4 from 1 to 4^20 (about 10^12): the
// readings range from a handful of goroutines to gigabytes of memory.
func defaultBuckets() []float64 {
	b := make([]float64, 21)
	for i := range b {
		b[i] = math.Pow(4, float64(i))
	}
	return b
}

func defaultConfig() *Config {
	return &Config{
		ReplicaAttribute: "fleet.replica",
		MetricPrefix:     "fleet.",
		Window:           2 * time.Hour,
		ExportInterval:   time.Minute,
		MinInstances:     5,
		SampleRate:       0.01,
		MaxInstances:     250_000,
		MaxSeries:        200_000,
		Buckets:          defaultBuckets(),
		Idempotency:      IdempotencyConfig{MaxKeys: payload.DefaultWindowKeys, MaxAge: payload.DefaultWindowAge},
	}
}

// Validate reports the settings that cannot work.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Replica == "" {
		add("replica must be set, to a value of this replica's own (for example ${env:HOSTNAME})")
	}
	if c.ReplicaAttribute == "" {
		add("replica_attribute must not be empty")
	}
	if c.MetricPrefix == "" {
		add("metric_prefix must not be empty: aggregated metrics would share names with the sampled instances'")
	}
	if c.Window <= 0 {
		add("window must be positive (got %s)", c.Window)
	}
	if c.ExportInterval < time.Second || c.ExportInterval > c.Window {
		add("export_interval must be at least 1s and at most window (got %s, window %s)", c.ExportInterval, c.Window)
	}
	if c.MinInstances < 1 {
		add("min_instances must be at least 1 (got %d)", c.MinInstances)
	}
	if !(c.SampleRate >= 0 && c.SampleRate <= 1) {
		add("sample_rate must be between 0 and 1 (got %v)", c.SampleRate)
	}
	if c.MaxInstances < 1 || c.MaxSeries < 1 {
		add("max_instances and max_series must be positive (got %d and %d)", c.MaxInstances, c.MaxSeries)
	}
	if c.Idempotency.MaxKeys < 0 || c.Idempotency.MaxKeys > 0 && c.Idempotency.MaxAge <= 0 {
		add("idempotency.max_keys must be 0 (off) or positive with a positive idempotency.max_age (got %d and %s)",
			c.Idempotency.MaxKeys, c.Idempotency.MaxAge)
	}
	if err := validateBuckets(c.Buckets); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func validateBuckets(b []float64) error {
	if len(b) == 0 || len(b) > 200 {
		return fmt.Errorf("buckets must hold 1 to 200 bounds (got %d)", len(b))
	}
	for i, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) || i > 0 && v <= b[i-1] {
			return fmt.Errorf("buckets must be finite and increasing (bound %d is %v)", i, v)
		}
	}
	return nil
}
