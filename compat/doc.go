// Package compat is the documented telemetry package API, call for call,
// recorded through OpenTelemetry. A program that used the original package
// changes its import to
//
//	import telemetry "github.com/telemetrybridge/telemetry/compat"
//
// and keeps every call: Init, Set, SetNested, Append, AppendUnique, Add,
// Increment, Reset, StartEmitting, StopEmitting, FastHash.
//
// What differs is what the original got wrong: recording never blocks on
// the network, misuse of a key is reported instead of panicking or
// deadlocking, a value is captured when recorded, at most bridge.MaxItems
// items are kept per update, and StopEmittingContext bounds the final
// update.
//
// Configuration without code: TELEMETRY_ENDPOINT, TELEMETRY_DISABLED_METRICS,
// DO_NOT_TRACK and OTEL_SDK_DISABLED (see the Env constants). In code,
// InitWithOptions takes exporter and telemetry Reader options and extra
// OpenTelemetry readers,
// and MeterProvider gives the provider for the program's own instruments.
//
// This package holds the one global client and the wiring beneath it. A
// Client joins a bridge.Bridge, which records, to an exporter, which
// filters keys, hears problems, keeps the journal and sends: the exporter
// is the bridge's KeyFilter, its Journal the bridge's journal, and a
// telemetry Reader over it collects from the bridge (package bridge knows
// nothing of the exporter). Init builds a Client from the environment and
// its options; New builds one over an exporter the caller made, for a test
// or a program that needs an instance of its own, which it starts with
// Start and ends with Shutdown.
package compat
