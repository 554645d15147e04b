// Package telemetry is the root of telemetrybridge, a client for the
// instance telemetry protocol built on OpenTelemetry metrics.
//
// The work is done in its packages:
//
//   - payload: the wire types (Payload, Response, CountingSet);
//   - exporter: an sdkmetric.Exporter and a Reader that report to a
//     telemetry server on the schedule the server sets;
//   - bridge and compat: the documented telemetry package API, call for
//     call, recorded through OpenTelemetry instruments.
package telemetry
