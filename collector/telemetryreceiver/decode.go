package telemetryreceiver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

// update is a decoded payload: numbers in Data are json.Number, so that
// integers keep all 64 bits rather than passing through float64, and the
// exporter's optional statement of metric types is kept.
type update = payload.Update

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

// decodeUpdate decodes the members of a payload that the receiver reads,
// with the protocol's one decoder; others are ignored, as encoding/json
// would.
func decodeUpdate(body []byte, id uuid.UUID) (update, error) {
	u, err := payload.ParseUpdate(body, payload.Limits{MaxValues: MaxValuesPerUpdate})
	if errors.Is(err, payload.ErrTooManyValues) {
		return u, fmt.Errorf("%w: it holds more than %d JSON values", errTooLarge, MaxValuesPerUpdate)
	}
	if err != nil {
		return u, fmt.Errorf("the body is not a JSON update: %v", err)
	}
	if got, err := uuid.Parse(u.InstanceID); err != nil || got != id {
		return u, fmt.Errorf("the payload's instance_id %q does not match the instance UUID of the URL", u.InstanceID)
	}
	if u.Timestamp.IsZero() {
		return u, errors.New("the payload has no timestamp: set it to the time of sending, as an RFC 3339 time")
	}
	return u, nil
}
