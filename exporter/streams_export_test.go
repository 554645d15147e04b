package exporter

import (
	"github.com/telemetrybridge/telemetry/exporter/internal/streams"
)

// BridgeScope is the scope whose sums checkpoints leave to the carried
// file, for the external test that checks it against the bridge's.
const BridgeScope = streams.BridgeScope

// StreamRecordKey is the key of the streams' journal records, for tests
// that plant one.
const StreamRecordKey = streams.RecordKey
