// Package exporter sends OpenTelemetry metrics to a server that speaks the
// instance telemetry protocol, and lets that server steer the reporting.
//
// An Exporter turns each collection into one payload.Payload (the shapes
// are listed in the payload package), POSTs it to the endpoint followed by
// the instance ID, and reads the server's payload.Response: keys it
// disables are neither sent nor, through KeyDisabled, kept by cooperating
// recorders; a stop directive, 410 Gone or 451 end reporting for good; 429
// and failures are retried as RetryConfig says. Temporality is delta for
// every instrument, so each update carries what happened since the last.
//
// A Reader wraps the SDK's ManualReader and collects on the server's
// schedule: Start sends the first update at once, each answer's next_update
// sets the wait before the next one (an hour and up to a minute of jitter
// when it is missing or under a second), and Shutdown sends a final update
// within the caller's deadline. The Exporter also works under any other
// reader, such as sdkmetric.NewPeriodicReader, which then sets the pace.
//
// The zero-config default sends to DefaultEndpoint, a placeholder that
// cannot resolve: every real use passes WithEndpoint and, always,
// WithInstanceID.
//
// JSON does not say whether 8 is a gauge reading or a count. For a server
// that rebuilds OpenTelemetry metrics from updates, such as the Collector
// receiver in this repository's collector module, WithMetricTypes adds the
// type of every key whose JSON would be misread (payload.MetricTypesMember).
//
// Each update is written straight from the collection through a
// payload.Writer: no map, no reflection, buffers kept from one update to
// the next; the points of an instrument are ordered by the JSON of their
// attributes, written once per point. Updates that fail are carried into
// the next one, merged by the protocol's rules, also when several fail at
// once.
//
// With WithSpool, undelivered figures outlive the process: each update is
// written to a file in the spool directory before it is sent and removed
// once it is not needed, failed figures are kept there as they are
// carried, and the next exporter with the same directory and instance ID
// sends what an exporter that is gone left behind. The server's disabled
// keys and stop are kept there too. When Shutdown begins while an update
// hangs, the Reader keeps what was recorded since on disk at once instead
// of waiting for it, so that a process exiting right after starting to
// stop loses nothing.
//
// Problems that no caller can receive (a value that cannot be encoded, a
// failed scheduled update) go to the handler of WithErrorHandler, else to
// otel.Handle (Report hands them one); the instance ID never appears in
// them.
package exporter
