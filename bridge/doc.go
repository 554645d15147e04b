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
// A key with a colon belongs to the family before the colon, and every
// call names it the same way: "tls_client_hello_ua:3fa2c1b0" is a point of
// the metric "tls_client_hello_ua" with the attribute
// telemetry.key_suffix="3fa2c1b0", whether Increment, AppendUnique, Set,
// SetNested or Append recorded it. Backends see one metric with many
// series, and the SDK, which never frees an instrument, does not keep one
// per hash. Past 10,000 instrument names, new counter keys share
// "telemetry.counters" or "telemetry.counting_sets" with the key in
// attribute telemetry.key. The exporter restores the exact key in every
// case.
//
// A family is best recorded with one kind. When it holds several (counts
// with Increment, values with Set), an OpenTelemetry reader sees one metric
// name per kind that was used, each with the points of that kind: an
// up-down counter for the counts, a counter for counting sets, a gauge for
// values (two gauges when some values are floats and some are not). The
// SDK logs its "duplicate metric stream definitions" warning once, when
// the second of the counter instruments is made, not on collections. The
// telemetry server sees each key as it was recorded.
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
