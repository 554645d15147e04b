package payload

import (
	"math"
	"time"
)

// Payload is one update as it travels to the telemetry server.
type Payload struct {
	// InstanceID is the string form of the reporting instance's UUID.
	InstanceID string `json:"instance_id"`

	// Timestamp is when the client sent this update, in UTC.
	Timestamp time.Time `json:"timestamp"`

	// ExpectNext is left empty by clients; the server sets it to the time
	// by which it expects the following update, before it stores the payload.
	ExpectNext time.Time `json:"expect_next,omitempty"`

	// Data holds the figures of this update, keyed by metric key.
	Data map[string]any `json:"data,omitempty"`
}

// Int reports the value under key as an int when it holds a whole number,
// whether it was recorded as a Go integer or came back from a JSON decoding
// as a float64. Anything else, including a missing key, gives 0.
func (p Payload) Int(key string) int {
	switch v := p.Data[key].(type) {
	case int:
		return v
	case int8:
		return int(v)
	case int16:
		return int(v)
	case int32:
		return int(v)
	case int64:
		return int(v)
	case uint:
		return int(v)
	case uint8:
		return int(v)
	case uint16:
		return int(v)
	case uint32:
		return int(v)
	case uint64:
		return int(v)
	case float64:
		return wholeFloat(v)
	case float32:
		return wholeFloat(float64(v))
	case interface{ Int64() (int64, error) }: // json.Number
		if n, err := v.Int64(); err == nil {
			return int(n)
		}
	}
	return 0
}

// wholeFloat turns f into an int when it has no fractional part and fits.
func wholeFloat(f float64) int {
	if f != math.Trunc(f) || f > math.MaxInt64 || f < math.MinInt64 {
		return 0
	}
	return int(f)
}

// Response is what the telemetry server answers to an update. Its
// directives steer the client's schedule and its key filter.
type Response struct {
	// NextUpdate is the wait before the next update; in JSON an integer
	// number of nanoseconds, as time.Duration encodes.
	NextUpdate time.Duration `json:"next_update"`

	// Stop asks the client to send no more updates at all.
	Stop bool `json:"stop,omitempty"`

	// Error carries the server's explanation when the status is 400 or over.
	Error string `json:"error,omitempty"`

	// DisableKeys lists keys the client must neither keep nor send until
	// the server enables them again. It wins over EnableKeys.
	DisableKeys []string `json:"disable_keys,omitempty"`

	// EnableKeys lists keys the server allows again.
	EnableKeys []string `json:"enable_keys,omitempty"`
}
