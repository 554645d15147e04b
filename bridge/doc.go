// Package bridge records the documented telemetry calls (Set, SetNested,
// Append, AppendUnique, Add, Increment) as OpenTelemetry data, so that the
// same figures reach the telemetry server and any other OpenTelemetry
// reader. It keeps no global state: package compat is the global face over
// one Bridge.
//
// # How each call becomes OpenTelemetry data
//
//	Add, Increment       an Int64UpDownCounter named after the key
//	AppendUnique(k, v)   an Int64Counter named after k, with v in the
//	                     attribute telemetry.value (or telemetry.value_json
//	                     when v is not a string, bool or number)
//	Set(k, v)            a gauge from the bridge's producer: a number as the
//	                     point's value, anything else as the value attribute
//	                     of a point worth 1
//	SetNested(k, s, v)   one gauge for k with a point per sub-key s
//	                     (attribute telemetry.subkey)
//	Append(k, v)         one gauge for k with a point per element, numbered
//	                     by the attribute telemetry.index
//
// Counters and counting sets are instruments: the SDK aggregates them per
// reader, so each reader gets its own deltas (or cumulative sums). Values
// that no instrument can carry — strings, structs, lists, a Set that
// overwrites a key of any kind — and every Set and SetNested, so that an
// object mixing numbers and strings stays one metric, come from a Producer;
// each reader has its own producer and sees each change once.
//
// # Keys and instrument names
//
// Instrument names allow only [A-Za-z0-9_./-] and must start with a letter,
// while keys are any string ("tls_client_hello_ua:3fa2c1b0"). The bridge
// names instruments with payload.KeyToInstrumentName: other bytes are
// escaped as '/' and two upper-case hex digits, and a key that does not
// start with a letter is prefixed with "k/_".
//
// Counters and counting sets of one key family share the family's
// instrument: "tls_client_hello_ua:3fa2c1b0" is a point of instrument
// "tls_client_hello_ua" with attribute telemetry.key_suffix="3fa2c1b0".
// Backends see one metric with many series, and the SDK, which never frees
// an instrument, does not keep one per hash. Past 10,000 instrument names,
// new keys share "telemetry.counters" or "telemetry.counting_sets" with the
// key in attribute telemetry.key. The exporter restores the exact key in
// every case.
//
// # Limits and errors
//
// At most MaxItems items are kept between two updates of the telemetry
// server; past that new items are dropped, and existing ones still update.
// The update then carries the number dropped under payload.KeyDropped. A key holds one kind per update: using a counter key as a
// list, or an unhashable AppendUnique value, is reported through otel.Handle
// (once per key and problem per update) and ignored. Set replaces any kind.
// Values are captured when recorded (maps, slices and structs as their
// JSON), so a caller may reuse what it passed.
package bridge
