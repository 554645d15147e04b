package telemetryreceiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/uuid"
)

// update is a decoded payload. Numbers in Data are json.Number, so that
// integers keep all 64 bits rather than passing through float64.
type update struct {
	InstanceID string
	Timestamp  time.Time
	Data       map[string]any
	// MetricTypes is the exporter's optional statement of the OpenTelemetry
	// type of keys whose JSON alone reads as another type (the payload
	// member payload.MetricTypesMember; see exporter.WithMetricTypes).
	MetricTypes map[string]any
}

// MaxValuesPerUpdate bounds the JSON values (every member, element and
// scalar) of one update: twenty per item of the protocol's limit of
// 100,000 items, which no client following it comes near. It keeps a body
// of tiny values ("[1,1,1,...]") from taking memory out of proportion to
// its size.
const MaxValuesPerUpdate = 2_000_000

// errTooLarge marks a body whose content is over the receiver's bounds.
var errTooLarge = errors.New("the update is too large")

// bodyPool recycles the buffers that request bodies are read into.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps one large update from pinning its buffer.
const maxPooledBody = 1 << 20

// readUpdate reads and decodes the body of an update. A read error, such
// as the body limit's *http.MaxBytesError, comes back wrapped.
func readUpdate(body io.Reader, id uuid.UUID) (update, error) {
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(body); err != nil {
		return update{}, fmt.Errorf("reading the update: %w", err)
	}
	return decodeUpdate(buf.Bytes(), id)
}

// decodeUpdate decodes the members of a payload that the receiver reads;
// others are ignored, as encoding/json would.
func decodeUpdate(body []byte, id uuid.UUID) (update, error) {
	var u update
	v, err := parseJSONLimited(body, MaxValuesPerUpdate)
	if errors.Is(err, errTooManyValues) {
		return u, fmt.Errorf("%w: it holds more than %d JSON values", errTooLarge, MaxValuesPerUpdate)
	}
	if err != nil {
		return u, fmt.Errorf("the body is not a JSON update: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return u, errors.New("the body is not a JSON object: send one update object per request")
	}
	u.InstanceID, _ = obj["instance_id"].(string)
	if got, err := uuid.Parse(u.InstanceID); err != nil || got != id {
		return u, fmt.Errorf("the payload's instance_id %q does not match the instance UUID of the URL", u.InstanceID)
	}
	stamp, _ := obj["timestamp"].(string)
	if u.Timestamp, err = time.Parse(time.RFC3339, stamp); err != nil {
		return u, fmt.Errorf("the payload's timestamp %q is not an RFC 3339 time: set it to the time of sending", stamp)
	}
	if u.Data, ok = optionalObject(obj, "data"); !ok {
		return u, errors.New("the payload's data is not an object of keys")
	}
	if u.MetricTypes, ok = optionalObject(obj, "metric_types"); !ok {
		return u, errors.New("the payload's metric_types is not an object of type names")
	}
	return u, nil
}

// optionalObject returns the member name of obj, which may be absent or
// null but otherwise must be an object.
func optionalObject(obj map[string]any, name string) (map[string]any, bool) {
	switch m := obj[name].(type) {
	case nil:
		return nil, true
	case map[string]any:
		return m, true
	}
	return nil, false
}
