package compat

import (
	"errors"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/bridge"
	"github.com/telemetrybridge/telemetry/exporter"
)

// Client is a bridge that reports through one exporter: the instance
// behind the package's global calls, which tests and programs that need
// more than one instance build with New. The embedded Bridge records
// (Set, Increment, ...), resets, and shuts down; Start and Reader belong
// to the telemetry Reader the client built.
type Client struct {
	*bridge.Bridge
	reader *exporter.Reader
}

// New wires a bridge to exp, as Init does: exp's key filter decides what
// the bridge keeps and its error handler hears the bridge's problems,
// exp's journal (with a spool) keeps the bridge's figures, and a telemetry
// Reader over exp sends them. Options are those of InitWithOptions but
// WithExporterOptions, which is an error here: exp is already built.
// Nothing is sent before Start. An exporter serves one client: a second
// New over the same exporter is an error.
func New(exp *exporter.Exporter, opts ...Option) (*Client, error) {
	if exp == nil {
		return nil, errors.New("telemetry: New needs an exporter: create one with exporter.New")
	}
	var o options
	for _, opt := range opts {
		opt.apply(&o)
	}
	if len(o.exporter) > 0 {
		return nil, errors.New("telemetry: New takes a built exporter; pass exporter options to exporter.New instead of WithExporterOptions")
	}
	return newClient(exp, o)
}

func newClient(exp *exporter.Exporter, o options) (*Client, error) {
	c := &Client{}
	newReader := func(producer sdkmetric.Producer, hooks bridge.CollectionHooks) sdkmetric.Reader {
		own := []exporter.ReaderOption{exporter.WithProducer(producer), exporter.WithHandover(hooks)}
		c.reader = exporter.NewReader(exp, append(own, o.reader...)...)
		return c.reader
	}
	j, taken := exp.TakeJournal()
	if !taken {
		return nil, errors.New("telemetry: this exporter already reports for another client; give each client an exporter of its own (exporter.New)")
	}
	b, err := bridge.New(exp, newReader, append([]bridge.Option{bridge.WithJournal(j)}, o.bridge...)...)
	if err != nil {
		return nil, err
	}
	c.Bridge = b
	return c, nil
}

// Start sends the first update now and then follows the server's
// schedule, until Shutdown.
func (c *Client) Start() { c.reader.Start() }

// Reader is the telemetry Reader: ForceFlush on it sends an update now.
func (c *Client) Reader() *exporter.Reader { return c.reader }
