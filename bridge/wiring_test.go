package bridge

import (
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
)

// throughExporter wires a bridge to exp as package compat does, which
// this package's tests cannot import (compat imports bridge): exp filters
// the keys and hears the problems, its journal keeps the figures, and a
// telemetry Reader over exp sends them.
func throughExporter(exp *exporter.Exporter, opts ...Option) (*Bridge, *exporter.Reader, error) {
	var reader *exporter.Reader
	newReader := func(p sdkmetric.Producer, hooks CollectionHooks) sdkmetric.Reader {
		reader = exporter.NewReader(exp, exporter.WithProducer(p), exporter.WithHandover(hooks))
		return reader
	}
	j, _ := exp.TakeJournal()
	b, err := New(exp, newReader, append([]Option{WithJournal(j)}, opts...)...)
	return b, reader, err
}

// ThroughExporter is throughExporter for the package's external tests.
var ThroughExporter = throughExporter
