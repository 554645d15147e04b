package receiver

import (
	"io"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

// Defaults of a Receiver made without options.
const (
	DefaultPrefix       = "/v1/update/"
	DefaultMaxBodySize  = 8 << 20 // a full 100,000-item payload is about 3.5 MB
	DefaultKeep         = 100     // payloads kept per instance
	DefaultMaxInstances = 10_000
	DefaultNextUpdate   = time.Hour
)

type config struct {
	prefix       string
	maxBody      int64
	keep         int
	maxInstances int
	response     payload.Response
	jsonLines    io.Writer
	onUpdate     func(Update)
	now          func() time.Time
}

func newConfig(opts []Option) config {
	cfg := config{
		prefix:       DefaultPrefix,
		maxBody:      DefaultMaxBodySize,
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

// WithMaxBodySize bounds an update's body; larger ones get 413.
func WithMaxBodySize(n int64) Option {
	return optionFunc(func(c *config) { c.maxBody = n })
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
// JSON object per line.
func WithJSONLines(w io.Writer) Option {
	return optionFunc(func(c *config) { c.jsonLines = w })
}

// WithOnUpdate calls f for each accepted update, just before the answer is
// written, with what was received and what is answered. f must return
// quickly: the client waits for the answer.
func WithOnUpdate(f func(Update)) Option {
	return optionFunc(func(c *config) { c.onUpdate = f })
}
