// Package telemetryreceiver is an OpenTelemetry Collector receiver for the
// instance telemetry protocol: the server side of the exchange that the
// documented telemetry package and this project's exporter speak. It lets
// clients report into a Collector fleet unchanged, and the Collector's
// processors and exporters take the figures anywhere.
//
// # Configuration
//
//	receivers:
//	  telemetry:
//	    endpoint: localhost:8418      # DefaultEndpoint; the HTTP server is confighttp's
//	    path: /v1/update/             # clients post to <path><instance UUID>
//	    max_request_body_size: 8388608 # bytes, after decompression too
//	    retry_after: 10s              # told to clients when the pipeline refuses
//	    response:                     # the Response to every accepted update
//	      next_update: 1h
//	      disable_keys: [user_agent]
//	    instances:                    # replaces response for one instance
//	      6a0f5f7e-7c1b-4c55-9b55-3f6f3a5e2b11: {stop: true}
//
// # Answers
//
// An accepted update gets 200 and the configured Response, and only once
// the next consumer has taken its data. A refused request gets a JSON
// Response whose error says what to change: 405 for a method other than
// POST, 404 outside the path, 400 for a bad instance UUID, a malformed
// body or a payload whose instance_id differs from the URL's, 413 over the
// body limit (checked again after decompression) or over
// MaxValuesPerUpdate JSON values, 415 for a content type other than JSON. When the pipeline refuses the data for a reason that
// may pass (a memory limit, a full queue) the answer is 503 with
// Retry-After, and clients send the same update again later; when it
// refuses for good, 400. Either way nothing is acknowledged, so clients
// keep their figures. The receiver reports what it accepted and refused
// in the Collector's own receiver metrics, with the format
// "telemetry_json".
//
// # Mapping
//
// Each update becomes one resource, identified by the resource attribute
// service.instance.id (the instance UUID), with one scope (ScopeName).
// Every point has the payload's timestamp; temporality is delta, as each
// update holds what happened since the previous one. The protocol does
// not carry when that was, so start times are left unset. A key
// "name:suffix" is the metric name with the attribute
// telemetry.key_suffix. The attribute names are the protocol's (package
// payload), so that the mapping is the inverse of the exporter's
// conversion:
//
//	JSON under the key                 metric
//	whole number (Add, Increment)      sum, delta, not monotonic
//	"goroutines" and other numbers     gauge
//	string, boolean, null              gauge of 1 with telemetry.value (null: telemetry.value_json)
//	object (SetNested, "memory")       gauge, a point per member with telemetry.subkey;
//	                                   numbers as values, other members as above
//	[{"value", "count"}] (AppendUnique) sum, delta, monotonic: count per telemetry.value
//	other list (Append)                gauge of 1 per element with telemetry.index and
//	                                   telemetry.value (objects and lists: telemetry.value_json)
//	[{"attributes", "value"}]          gauge, a point per element with its attributes
//	histogram object(s)                histogram, delta
//	exponential histogram object(s)    exponential histogram, delta
//	summary object(s)                  summary
//
// Numbers that JSON alone cannot place (a gauge reading that is whole, a
// monotonic counter, a float that is whole) take the type the update
// states for them in its metric_types member, which the exporter writes
// when exporter.WithMetricTypes is on; with it, OpenTelemetry instruments
// reported through the exporter come back with their names, values,
// temporality and attributes.
package telemetryreceiver
