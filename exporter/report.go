package exporter

import (
	"fmt"

	"go.opentelemetry.io/otel"
)

// reportf hands a problem that has no caller to return it to to OTel's error
// handler, which a program may replace with otel.SetErrorHandler.
func reportf(format string, args ...any) {
	otel.Handle(fmt.Errorf("telemetry exporter: "+format, args...))
}
