package telemetryreceiver

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/telemetrybridge/telemetry/payload"
)

// update is a decoded payload: numbers in Data are json.Number, so that
// integers keep all 64 bits rather than passing through float64, and the
// exporter's optional statement of metric types is kept. body is the
// text it was decoded from, where the conversion finds the JSON of values
// that it passes on as text; it is the caller's buffer, valid until the
// conversion returns.
type update struct {
	payload.Update
	body []byte
}

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

// errGone marks a request whose client left while it waited to be
// decoded.
var errGone = errors.New("the request ended before its update could be read")

// readMetrics reads the body of an update, then decodes and converts it
// while it holds one of the receiver's decoding slots. A body within the
// limits can still cost a hundred times its size while it is decoded (an
// 8 MiB body of two million tiny values takes some 200 MiB), which no
// memory_limiter sees: the slots, one per core, bound that to a few such
// bodies at a time, however many clients send them, and decoding is
// bound by the cores anyway. Reading the body comes first, outside the
// slots, so that a slow client does not hold one. A read error, such as
// the body limit's *http.MaxBytesError, comes back wrapped.
func (r *telemetryReceiver) readMetrics(req *http.Request, id uuid.UUID) (pmetric.Metrics, error) {
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(req.Body); err != nil {
		return pmetric.Metrics{}, fmt.Errorf("reading the update: %w", err)
	}
	select {
	case r.decoding <- struct{}{}:
		defer func() { <-r.decoding }()
	case <-req.Context().Done():
		return pmetric.Metrics{}, errGone
	}
	u, err := decodeUpdate(buf.Bytes(), id, r.limits)
	if err != nil {
		return pmetric.Metrics{}, err
	}
	return toMetrics(u), nil
}

// decodeUpdate decodes the members of a payload that the receiver reads,
// with the protocol's one decoder; others are ignored, as encoding/json
// would. The instance is stored as its canonical UUID, a string of its
// own rather than a slice of the body.
func decodeUpdate(body []byte, id uuid.UUID, limits payload.Limits) (update, error) {
	parsed, err := payload.ParseUpdate(body, limits)
	u := update{Update: parsed, body: body}
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
