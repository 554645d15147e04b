package receiver

import (
	"io"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

// Defaults of a Receiver made without options.
const (
	DefaultPrefix       = "/v1/update/"
	DefaultMaxBodySize  = payload.DefaultMaxBodyBytes
	DefaultKeep         = 100 // payloads kept per instance
	DefaultMaxInstances = 10_000
	DefaultNextUpdate   = time.Hour
)

type config struct {
	prefix       string
	limits       payload.Limits
	window       payload.WindowConfig
	schedule     *payload.ScheduleConfig
	keep         int
	maxInstances int
	response     payload.Response
	jsonLines    io.Writer
	onUpdate     func(Exchange)
	now          func() time.Time
}

func newConfig(opts []Option) config {
	cfg := config{
		prefix:       DefaultPrefix,
		limits:       payload.DefaultLimits(),
		keep:         DefaultKeep,
		maxInstances: DefaultMaxInstances,
		response:     payload.Response{NextUpdate: DefaultNextUpdate},
		now:          time.Now,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	return cfg
}

// Option configures a Receiver.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithPrefix sets the path under which updates arrive; the instance UUID
// follows it. The default is DefaultPrefix.
func WithPrefix(prefix string) Option {
	return optionFunc(func(c *config) { c.prefix = prefix })
}

// WithMaxBodySize bounds an update's body, after decompression too;
// larger ones get 413.
func WithMaxBodySize(n int64) Option {
	return optionFunc(func(c *config) { c.limits.MaxBodyBytes = n })
}

// WithLimits replaces the limits of an update (payload.DefaultLimits, the
// Collector receiver's too): over the bytes or the JSON values, 413; a
// name over its length, 400.
func WithLimits(l payload.Limits) Option {
	return optionFunc(func(c *config) { c.limits = l })
}

// WithIdempotency bounds the window of Idempotency-Key values remembered
// (by default payload.DefaultWindowKeys and payload.DefaultWindowAge).
func WithIdempotency(cfg payload.WindowConfig) Option {
	return optionFunc(func(c *config) { c.window = cfg })
}

// WithSchedule spreads next_update and answers instances that report much
// earlier than told with 429 (payload.Schedule; payload.DefaultSchedule
// for the Collector receiver's defaults). Off by default: a receiver in a
// test takes every update its client sends, however soon.
func WithSchedule(cfg payload.ScheduleConfig) Option {
	return optionFunc(func(c *config) { c.schedule = &cfg })
}

// WithKeep sets how many payloads are kept per instance (the oldest go
// first) and how many instances are tracked (the least recently heard from
// go first).
func WithKeep(perInstance, instances int) Option {
	return optionFunc(func(c *config) { c.keep, c.maxInstances = perInstance, instances })
}

// WithResponse sets the answer to every instance that has no answer of its
// own (see Receiver.SetResponse). The default asks for the next update in
// an hour.
func WithResponse(resp payload.Response) Option {
	return optionFunc(func(c *config) { c.response = resp })
}

// WithJSONLines also writes every accepted payload, as stored, to w: one
// JSON object per line, as payload.Append writes it.
func WithJSONLines(w io.Writer) Option {
	return optionFunc(func(c *config) { c.jsonLines = w })
}

// WithOnUpdate calls f for each accepted update, just before the answer is
// written, with what was received and what is answered. f must return
// quickly: the client waits for the answer.
func WithOnUpdate(f func(Exchange)) Option {
	return optionFunc(func(c *config) { c.onUpdate = f })
}
