package payload

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// Limits bound what a server takes from one update. The reference server
// (package receiver) and the Collector receiver apply the same ones, so
// that a body one of them takes the other takes too.
type Limits struct {
	// MaxBodyBytes bounds the body, after decompression.
	MaxBodyBytes int64
	// MaxValues bounds the JSON values of the members a server reads
	// (every member, element and scalar): 7.8 MB of "1," is 3.9 million
	// values, which cost a decoder far more memory than their bytes.
	MaxValues int
	// MaxNameBytes bounds every member name: a key, a sub-key, an
	// attribute name. A key becomes a metric name and a label downstream.
	MaxNameBytes int
}

// Defaults of Limits.
const (
	// DefaultMaxBodyBytes: a full update of 100,000 items is about 3.5 MB.
	DefaultMaxBodyBytes = 8 << 20
	// DefaultMaxValues is twenty values per item of MaxItems, which no
	// client that keeps to the protocol comes near.
	DefaultMaxValues = 20 * MaxItems
	// DefaultMaxNameBytes is the longest key the exporter keeps in its
	// spool (64 KiB): whatever a client can hold, a server takes.
	DefaultMaxNameBytes = 64 << 10
)

// DefaultLimits returns the limits both servers apply unless configured
// otherwise.
func DefaultLimits() Limits {
	return Limits{MaxBodyBytes: DefaultMaxBodyBytes, MaxValues: DefaultMaxValues, MaxNameBytes: DefaultMaxNameBytes}
}

func (l Limits) parseOptions() ParseOptions {
	return ParseOptions{MaxValues: l.MaxValues, MaxNameBytes: l.MaxNameBytes}
}

// ParseStatus is the HTTP status that answers an update ParseUpdate or
// ParsePayload refused with err: 413 when it is over the bounds of its
// size (bytes, values), 400 when it is malformed.
func ParseStatus(err error) int {
	if errors.Is(err, ErrBodyTooLarge) || errors.Is(err, ErrTooManyValues) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// CheckRequest checks what an update request says before its body: the
// method, a path of prefix followed by an instance UUID in its canonical
// form, and the JSON content type. When something is wrong it returns the
// status to answer with and an error that tells the client what to send
// instead.
//
// The UUID must be written as uuid.UUID.String writes it (36 characters,
// lower case, dashed), which every client of the protocol does: a load
// balancer that hashes the path (HAProxy in collector/deploy) sees bytes,
// and one instance must reach one replica under one path.
func CheckRequest(req *http.Request, prefix string) (uuid.UUID, int, error) {
	if req.Method != http.MethodPost {
		return uuid.Nil, http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed: send updates with POST", req.Method)
	}
	rest, ok := strings.CutPrefix(req.URL.Path, prefix)
	if !ok {
		return uuid.Nil, http.StatusNotFound, fmt.Errorf("no update endpoint at %.200s: post to %s<instance UUID>", req.URL.Path, prefix)
	}
	id, err := uuid.Parse(rest)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, http.StatusBadRequest, fmt.Errorf("%.100q is not an instance UUID", rest)
	}
	if rest != id.String() {
		return uuid.Nil, http.StatusBadRequest, fmt.Errorf("%.100q is not in the canonical form of its UUID: post to %s%s", rest, prefix, id)
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return uuid.Nil, http.StatusUnsupportedMediaType, errors.New("an update must be sent as application/json")
	}
	return id, 0, nil
}

// CheckInstanceID checks that an update's instance_id names the UUID of
// its URL. Any spelling that uuid.Parse reads is taken (upper case,
// braces, urn:uuid:, no dashes): servers store the UUID itself, in its
// canonical form, so that one instance is one instance whatever its
// client wrote.
func CheckInstanceID(instanceID string, id uuid.UUID) error {
	if got, err := uuid.Parse(instanceID); err != nil || got != id {
		return fmt.Errorf("the payload's instance_id %.60q does not match the instance UUID of the URL", instanceID)
	}
	return nil
}

// WriteError answers a refused request: status, a JSON Response whose
// error is err, and the Allow header that a 405 calls for.
func WriteError(w http.ResponseWriter, status int, err error) {
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	_ = WriteResponse(w, status, Response{Error: err.Error()})
}
