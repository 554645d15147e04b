package telemetryreceiver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"
)

// update is a decoded payload. Numbers in Data stay json.Number, so that
// integers keep all 64 bits rather than passing through float64.
type update struct {
	InstanceID string         `json:"instance_id"`
	Timestamp  time.Time      `json:"timestamp"`
	Data       map[string]any `json:"data"`
	// MetricTypes is the exporter's optional statement of the OpenTelemetry
	// type of keys whose JSON alone reads as another type (see
	// exporter.WithMetricTypes). Servers that do not know it ignore it.
	MetricTypes map[string]string `json:"metric_types"`
}

// decodeUpdate reads one update from body, straight from the connection
// rather than through a copy of it. A read error, such as the body limit's
// *http.MaxBytesError, comes back wrapped.
func decodeUpdate(body io.Reader, id uuid.UUID) (update, error) {
	var u update
	dec := json.NewDecoder(body)
	dec.UseNumber()
	if err := dec.Decode(&u); err != nil {
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typeErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return u, fmt.Errorf("the body is not a JSON update: %v", err)
		}
		return u, fmt.Errorf("reading the update: %w", err)
	}
	if dec.More() {
		return u, errors.New("the body holds more than one JSON value: send one update per request")
	}
	if got, err := uuid.Parse(u.InstanceID); err != nil || got != id {
		return u, fmt.Errorf("the payload's instance_id %q does not match the instance UUID of the URL", u.InstanceID)
	}
	if u.Timestamp.IsZero() {
		return u, errors.New("the payload has no timestamp: set it to the time of sending")
	}
	return u, nil
}
