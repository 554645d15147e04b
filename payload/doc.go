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
//   - a sum or gauge with attributes is a list of points, ordered by the
//     JSON text of their attributes: [{"attributes": {"method": "GET"},
//     "value": 3}, ...];
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
