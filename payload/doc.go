// Package payload is the wire of the instance telemetry protocol, written
// once for both ends: the Payload a client sends and the Response a server
// answers with; the names both ends share (attribute names, reserved keys,
// MaxItems, metric type names); the key codec (KeyToInstrumentName and
// back, SplitFamily); the one JSON writer (Writer, Append); and the one
// decoder (ParseValue, ParseUpdate for servers, DecodePayload,
// DecodeResponse). It imports no OpenTelemetry package: the exporter walks
// OpenTelemetry data and writes it through a Writer, and the Collector
// receiver reads updates with ParseUpdate.
//
// Both ends build on jsontext (github.com/go-json-experiment/json), the
// tokeniser of the JSON library whose design becomes encoding/json/v2,
// rather than on scanning code of their own; tests and fuzz targets hold
// the writer and the decoder to what encoding/json makes of the same data.
//
// # What data holds
//
// Payload.Data maps each key to one JSON value. Figures recorded through the
// compat API take the protocol's shapes:
//
//	Set(k, v)            v as encoding/json renders it
//	SetNested(k, s, v)   {"s": v, ...}
//	Append(k, v)         [v1, v2, ...] in call order
//	AppendUnique(k, v)   [{"value": v, "count": n}, ...] (a CountingSet)
//	Add(k, n), Increment the sum since the previous update, an integer
//	emitted by the client "goroutines": n, "memory": {"heap_alloc": b, "sys": b}
//
// Metrics recorded with OpenTelemetry instruments are keyed by instrument
// name and converted without loss of their values:
//
//   - a sum or gauge with one point and no attributes is the bare number;
//   - a sum or gauge with attributes is a list of points, in no set
//     order (a reader matches points by their attributes):
//     [{"attributes": {"method": "GET"}, "value": 3}, ...];
//   - a histogram is {"count", "sum", "min", "max", "bounds",
//     "bucket_counts"} (min and max only when recorded);
//   - an exponential histogram is {"count", "sum", "min", "max", "scale",
//     "zero_count", "zero_threshold", "positive": {"offset",
//     "bucket_counts"}, "negative": {...}};
//   - a summary is {"count", "sum", "quantiles": [{"quantile", "value"}]};
//   - histograms and summaries with attributes become a list of such
//     objects, each with an "attributes" member.
//
// Timestamps of points are not repeated (the payload's timestamp stands for
// all of them) and exemplars are not sent. Instruments that use the
// attributes this package names (AttrValue: telemetry.value,
// telemetry.subkey, telemetry.index) take the compat shapes above instead,
// and points with telemetry.key or telemetry.key_suffix become keys of
// their own. "telemetry.dropped_items" counts what was dropped to keep an
// update within 100,000 items, when anything was.
//
// Beside the four documented members, an exporter made with
// exporter.WithMetricTypes adds "metric_types", an object from keys to
// the OpenTelemetry type of those whose JSON does not show it ("gauge",
// "counter", "double_gauge", ...), for servers that rebuild metrics from
// updates. Decoding into Payload skips it, as encoding/json skips any
// member it does not know.
//
// # What a server does with an update
//
// A client sends every update with an Idempotency-Key header
// (HeaderIdempotencyKey, after the IETF httpapi draft): an opaque value,
// unique to the update and the same each time the update is sent again,
// by a retry or by the next process that finds it in its spool. It is an
// extension of the documented protocol, which servers that do not know it
// ignore. A server that honours it, as both of this module's do through a
// Window, remembers per instance the keys of the updates it accepted,
// with the answer it gave:
//
//   - a request whose key it accepted before gets that answer again,
//     status and body, and its data is not taken a second time;
//   - a request whose key is being processed right now gets 409 Conflict
//     with Retry-After, and the client sends it again with the same key;
//   - a request whose processing failed leaves no trace, so that its
//     retry can succeed; "accepted" means the data was taken (stored, or
//     handed to a pipeline that took it);
//   - a request without the header is taken as before.
//
// The window is bounded by count and age (DefaultWindowKeys,
// DefaultWindowAge) and lives in memory: a server that restarts forgets
// it. An update whose answer was lost, and whose server restarted before
// the retry came, is then counted twice; a load balancer that hashes the
// instance's path keeps each instance on one server, so that its retries
// meet the window that saw the first attempt. The body of a retry may
// differ from the first (its timestamp is the time of sending), so a key
// is trusted to name one update, not checked against the body.
//
// Both servers read updates within one set of Limits (DefaultLimits:
// body bytes, JSON values, member name length); a number beyond float64
// (1e999999) is refused rather than read as an infinity. The instance
// UUID of the URL must be in its canonical form (CheckRequest); the
// instance_id of the body may be any spelling of the same UUID
// (CheckInstanceID), and servers keep the canonical form, so that one
// instance is one instance. A Schedule spreads next_update by a jitter
// and refuses, with 429, an instance that keeps reporting much earlier
// than it was told (see DefaultEarlyAllowance for why two early updates
// in a row are always taken).
//
// An example update:
//
//	{
//	  "instance_id": "6a0f5f7e-7c1b-4c55-9b55-3f6f3a5e2b11",
//	  "timestamp": "2026-11-24T10:00:00Z",
//	  "expect_next": "0001-01-01T00:00:00Z",
//	  "data": {
//	    "goroutines": 12,
//	    "memory": {"heap_alloc": 1843200, "sys": 8912896},
//	    "http_requests": 41,
//	    "tls_client_hello_ua:3fa2c1b0": 3,
//	    "user_agents": [{"value": "4f9f2cab", "count": 40}],
//	    "build": {"os": "linux", "arch": "amd64"},
//	    "http.server.request.duration": {"count": 41, "sum": 0.82,
//	      "min": 0.004, "max": 0.09, "bounds": [0.005, 0.01, 0.1],
//	      "bucket_counts": [3, 20, 18, 0]}
//	  }
//	}
package payload
