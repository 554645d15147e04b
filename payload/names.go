package payload

// Attribute names that tie an OpenTelemetry data point to one of the
// protocol's shapes. A client records with them (the bridge does, and any
// instrument may); the exporter reads them to pick the shape of a key, and
// a server that rebuilds metrics from updates puts them back.
const (
	// AttrValue carries a recorded value: on a counter it makes the key a
	// counting set, on a gauge worth 1 it is the key's value itself.
	AttrValue = "telemetry.value"
	// AttrValueJSON is AttrValue for a value given as its JSON text.
	AttrValueJSON = "telemetry.value_json"
	// AttrSubkey makes the key an object with one member per sub-key.
	AttrSubkey = "telemetry.subkey"
	// AttrIndex makes the key a list, ordered by this integer attribute.
	AttrIndex = "telemetry.index"
	// AttrKey gives a point its own key, whatever its metric's name: one
	// instrument can then carry many keys.
	AttrKey = "telemetry.key"
	// AttrKeySuffix gives a point the key "<metric name>:<suffix>", so that
	// the keys of one family ("tls_client_hello_ua:3fa2c1b0", ...) are one
	// metric with many series.
	AttrKeySuffix = "telemetry.key_suffix"
)

// Keys that a client fills itself.
const (
	// KeyGoroutines is the number of goroutines, measured just before
	// each update.
	KeyGoroutines = "goroutines"
	// KeyMemory is an object of heap_alloc and sys bytes, measured just
	// before each update.
	KeyMemory = "memory"
	// KeyDropped counts the items dropped to keep an update within
	// MaxItems. It is absent when nothing was dropped.
	KeyDropped = "telemetry.dropped_items"
)

// MaxItems bounds what one update carries: a top-level key, a member of an
// object, an element of a list, a distinct value of a counting set, or a
// point each count as one item.
const MaxItems = 100_000

// Names of OpenTelemetry types that an update may state for its keys under
// MetricTypesMember. JSON alone cannot tell a gauge reading from a count,
// nor 3.0 from 3; a server that turns updates back into metrics reads these
// names to restore the type. Histograms and summaries need none: their
// shapes say what they are.
const (
	MetricTypeCounter             = "counter"       // monotonic delta sum of integers
	MetricTypeUpDownCounter       = "updowncounter" // delta sum of integers
	MetricTypeGauge               = "gauge"         // integer gauge
	MetricTypeDoubleCounter       = "double_counter"
	MetricTypeDoubleUpDownCounter = "double_updowncounter"
	MetricTypeDoubleGauge         = "double_gauge"
)

// Members of the update object.
const (
	MemberInstanceID = "instance_id"
	MemberTimestamp  = "timestamp"
	MemberExpectNext = "expect_next"
	MemberData       = "data"
	// MetricTypesMember maps keys to their type names. It is an addition
	// to the documented Payload, written only when a client is asked to;
	// servers that do not know it skip it, as encoding/json does.
	MetricTypesMember = "metric_types"
)

// Members of the shapes inside data.
const (
	MemberValue        = "value"
	MemberCount        = "count"
	MemberAttributes   = "attributes"
	MemberSum          = "sum"
	MemberMin          = "min"
	MemberMax          = "max"
	MemberBounds       = "bounds"
	MemberBucketCounts = "bucket_counts"
	MemberScale        = "scale"
	MemberZeroCount    = "zero_count"
	MemberZeroThresh   = "zero_threshold"
	MemberPositive     = "positive"
	MemberNegative     = "negative"
	MemberOffset       = "offset"
	MemberQuantiles    = "quantiles"
	MemberQuantile     = "quantile"
	// MemberHeapAlloc and MemberSys are the members of KeyMemory.
	MemberHeapAlloc = "heap_alloc"
	MemberSys       = "sys"
)

// HeaderIdempotencyKey names the request header that identifies one update
// across its retries: a client sends the same opaque, unique value every
// time it sends the same update (again after a lost answer, or from a later
// process that found the update in its spool), and a server that remembers
// the values it accepted can answer a repeat without counting it twice.
// The header follows the IETF httpapi draft "The Idempotency-Key HTTP
// Header Field". It extends the documented protocol; servers that do not
// know it ignore it, as they ignore any unknown header.
const HeaderIdempotencyKey = "Idempotency-Key"
