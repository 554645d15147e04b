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
//	    idempotency:                  # the window of Idempotency-Key values
//	      max_keys: 100000            # accepted keys kept, about 260 bytes each; 0 ignores the header
//	      max_age: 24h
//	    schedule:
//	      jitter: 0.1                 # next_update spread over ±10 %
//	      early_share: 0.5            # before half the told interval, an update is early; 0: none is
//	      early_allowance: 2          # early updates in a row taken before 429
//	      max_instances: 100000       # instances remembered, about 65 bytes each
//
// # Answers
//
// An accepted update gets 200 and the configured Response, and only once
// the next consumer has taken its data. A refused request gets a JSON
// Response whose error says what to change: 405 for a method other than
// POST, 404 outside the path, 400 for a bad instance UUID (the path must
// carry its canonical lower-case form), a malformed body, a number beyond
// float64, a name over payload.DefaultMaxNameBytes or a payload whose
// instance_id names another UUID than the URL's, 413 over the body limit
// (checked again after decompression) or over MaxValuesPerUpdate JSON
// values, 415 for a content type other than JSON. These are
// payload.Limits, which the reference server applies too. The instance is
// service.instance.id in its canonical form, whatever spelling of the
// UUID the body used. Decoding an update costs far more memory than its
// bytes when they are tiny values (8 MiB of them take some 200 MiB while
// decoded, which no memory_limiter sees), so updates are decoded one per
// core at a time; bodies are read before, so that a slow client holds no
// turn. When the pipeline refuses the data for a reason that
// may pass (a memory limit, a full queue) the answer is 503 with
// Retry-After, and clients send the same update again later; when it
// refuses for good, 400. Either way nothing is acknowledged, so clients
// keep their figures. The receiver reports what it accepted and refused
// in the Collector's own receiver metrics, with the format
// "telemetry_json".
//
// # Updates sent again
//
// The receiver honours the Idempotency-Key header (payload.Window): an
// update whose key it accepted before (the pipeline took its data) gets
// the answer it got then, and its data is not passed on again; one whose
// key is being processed gets 409 with Retry-After; one the pipeline
// refused leaves no trace, so that its retry is taken. The window is per
// replica and in memory only. HAProxy's path hashing (collector/deploy)
// keeps an instance on one replica, so its retries meet the window that
// saw the first attempt. When a replica restarts, or its instances move
// to another when it dies, the window of those instances is empty: an
// update whose answer was lost and whose retry comes after the restart or
// the move is counted twice. Keys past max_keys or max_age are forgotten
// too, oldest first: the window is shared by the replica's instances, so
// a flood of new keys (from one client, or from many made-up instances)
// shortens it for all. Size max_keys for the replica's updates over the
// time a retry may take.
//
// # The schedule
//
// Each answer's next_update is spread over ±jitter, so that a fleet that
// started at once does not report in one burst ever after. An instance
// that reports before early_share of the interval it was told is early.
// Early updates are taken up to early_allowance in a row, two by default,
// because a restart sends two on purpose: the stopping process's final
// update (a client does not wait out a 429 on it, so refusing it would
// lose its figures unless they are spooled) and the next process's first,
// sent at once. Past the allowance the answer is 429 with Retry-After and
// next_update until early_share of the interval has passed; the client
// sends the same update then. A repeat of an accepted key gets its stored
// answer, never 429. The receiver remembers max_instances instances; one
// it forgot is taken at once.
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
// A telemetry.value_json attribute is the value's JSON text as the client
// sent it, with white space taken out: the same text the bridge writes
// for the value on the client's side, so that one value is one label
// whichever end a query reads.
//
// Numbers that JSON alone cannot place (a gauge reading that is whole, a
// monotonic counter, a float that is whole) take the type the update
// states for them in its metric_types member, which the exporter writes
// when exporter.WithMetricTypes is on; with it, OpenTelemetry instruments
// reported through the exporter come back with their names, values,
// temporality and attributes.
package telemetryreceiver
