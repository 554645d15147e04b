package telemetryreceiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

// update is a decoded payload: numbers in Data are json.Number, so that
// integers keep all 64 bits rather than passing through float64, and the
// exporter's optional statement of metric types is kept.
type update = payload.Update

// MaxValuesPerUpdate bounds the JSON values (every member, element and
// scalar) of one update: payload.DefaultMaxValues, which both servers of
// the protocol apply. It keeps a body of tiny values ("[1,1,1,...]") from
// taking memory out of proportion to its size.
const MaxValuesPerUpdate = payload.DefaultMaxValues

// errTooLarge marks a body whose content is over the receiver's bounds.
var errTooLarge = errors.New("the update is too large")

// bodyPool recycles the buffers that request bodies are read into.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps one large update from pinning its buffer.
const maxPooledBody = 1 << 20

// readUpdate reads and decodes the body of an update within limits. A
// read error, such as the body limit's *http.MaxBytesError, comes back
// wrapped.
func readUpdate(body io.Reader, id uuid.UUID, limits payload.Limits) (update, error) {
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
	return decodeUpdate(buf.Bytes(), id, limits)
}

// decodeUpdate decodes the members of a payload that the receiver reads,
// with the protocol's one decoder; others are ignored, as encoding/json
// would. The instance is stored as its canonical UUID, a string of its
// own rather than a slice of the body.
func decodeUpdate(body []byte, id uuid.UUID, limits payload.Limits) (update, error) {
	u, err := payload.ParseUpdate(body, limits)
	if payload.ParseStatus(err) == http.StatusRequestEntityTooLarge {
		return u, fmt.Errorf("%w: %v (the limit is %d JSON values)", errTooLarge, err, limits.MaxValues)
	}
	if err != nil {
		return u, fmt.Errorf("the body is not a JSON update: %v", err)
	}
	if err := payload.CheckInstanceID(u.InstanceID, id); err != nil {
		return u, err
	}
	u.InstanceID = id.String()
	if u.Timestamp.IsZero() {
		return u, errors.New("the payload has no timestamp: set it to the time of sending, as an RFC 3339 time")
	}
	return u, nil
}
