package compat

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

// Payload is the update sent to the telemetry server.
type Payload = payload.Payload

// Response is the telemetry server's answer to an update.
type Response = payload.Response

// DefaultStopTimeout bounds StopEmitting, which takes no context.
const DefaultStopTimeout = 10 * time.Second

// client is the state Init sets up. Its bridge (the bridge and its
// telemetry Reader) is nil when the program opted out of telemetry or the
// configuration was unusable; every call is then a no-op.
type client struct {
	bridge   *Client
	started  atomic.Bool
	stopOnce sync.Once
}

// current is the package's only state: the client Init installed.
var current atomic.Pointer[client]

// active returns the client to record into, or nil when calls are no-ops.
func active() *Client {
	if c := current.Load(); c != nil {
		return c.bridge
	}
	return nil
}

// Init prepares the package for use with the instance's UUID. Keys listed
// in disabledMetricsKeys are never kept nor sent while the process runs.
// Init panics when called twice or with the all-zero UUID. Before Init,
// every other function does nothing.
func Init(instanceID uuid.UUID, disabledMetricsKeys []string) {
	InitWithOptions(instanceID, disabledMetricsKeys)
}

// InitWithOptions is Init with options: the exporter's (endpoint, HTTP
// client, retry), extra OpenTelemetry readers that receive the same
// figures, and MeterProvider options.
func InitWithOptions(instanceID uuid.UUID, disabledMetricsKeys []string, opts ...Option) {
	if instanceID == uuid.Nil {
		panic("telemetry: Init needs a non-zero instance UUID")
	}
	if current.Load() != nil {
		panic("telemetry: Init called more than once")
	}
	c := &client{}
	if !optedOut() {
		b, err := newBridge(instanceID, disabledMetricsKeys, opts)
		if err != nil {
			otel.Handle(fmt.Errorf("telemetry: not reporting: %w", err))
		}
		c.bridge = b
	}
	if !current.CompareAndSwap(nil, c) {
		panic("telemetry: Init called more than once")
	}
}

func newBridge(id uuid.UUID, disabled []string, opts []Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	expOpts := append(envExporterOptions(), spoolOptions(id)...)
	expOpts = append(expOpts,
		exporter.WithInstanceID(id),
		exporter.WithDisabledKeys(disabled...),
	)
	exp, err := exporter.New(append(expOpts, o.exporter...)...)
	if err != nil {
		return nil, err
	}
	return newClient(exp, o)
}

// Set makes val the value of key in the next update, replacing what key
// held before.
func Set(key string, val interface{}) {
	if b := active(); b != nil {
		b.Set(key, val)
	}
}

// SetNested makes val the value of subkey inside the object named key.
func SetNested(key, subkey string, val interface{}) {
	if b := active(); b != nil {
		b.SetNested(key, subkey, val)
	}
}

// Append adds value to the end of the list named key.
func Append(key string, value interface{}) {
	if b := active(); b != nil {
		b.Append(key, value)
	}
}

// AppendUnique counts value in the set named key. The value must be
// usable as a map key; a slice or map is reported and ignored.
func AppendUnique(key string, value interface{}) {
	if b := active(); b != nil {
		b.AppendUnique(key, value)
	}
}

// Add adds amount to the counter named key.
func Add(key string, amount int) {
	if b := active(); b != nil {
		b.Add(key, amount)
	}
}

// Increment adds 1 to the counter named key.
func Increment(key string) {
	if b := active(); b != nil {
		b.Increment(key)
	}
}

// Reset empties what has been recorded since the last update, without
// sending it.
func Reset() {
	if b := active(); b != nil {
		b.Reset()
	}
}

// StartEmitting sends the first update at once, in the background, and
// keeps sending updates on the server's schedule until StopEmitting. It
// panics when called twice, and does nothing before Init.
func StartEmitting() {
	c := current.Load()
	if c == nil {
		return
	}
	if !c.started.CompareAndSwap(false, true) {
		panic("telemetry: StartEmitting called more than once")
	}
	if c.bridge != nil {
		c.bridge.Start()
	}
}

// StopEmitting sends a final update and ends the cycle, waiting at most
// DefaultStopTimeout. It does nothing if emitting never started.
func StopEmitting() {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStopTimeout)
	defer cancel()
	if err := StopEmittingContext(ctx); err != nil {
		otel.Handle(err)
	}
}

// StopEmittingContext is StopEmitting bounded by ctx: it returns by ctx's
// deadline even if the server does not answer. Only the first call does
// anything; later and concurrent calls return nil at once.
func StopEmittingContext(ctx context.Context) error {
	c := current.Load()
	if c == nil || !c.started.Load() || c.bridge == nil {
		return nil
	}
	var err error
	c.stopOnce.Do(func() {
		if e := c.bridge.Shutdown(ctx); e != nil {
			err = fmt.Errorf("telemetry: stopping: %w", e)
		}
	})
	return err
}

// MeterProvider returns the provider that carries this package's figures,
// so that a program's own OpenTelemetry instruments reach the same readers.
// Before Init, or when reporting is off, it is a no-op provider.
func MeterProvider() metric.MeterProvider {
	if b := active(); b != nil {
		return b.MeterProvider()
	}
	return noop.NewMeterProvider()
}
