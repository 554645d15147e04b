package payload

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// MaxBodySize bounds how much of a payload or response body the helpers of
// this package read, so that a peer cannot exhaust memory.
const MaxBodySize = 16 << 20

// ErrBodyTooLarge is returned when a body exceeds MaxBodySize.
var ErrBodyTooLarge = errors.New("payload: body exceeds the size limit")

// DecodePayload reads one JSON payload from r. Numbers in Data decode as
// float64, as encoding/json does; Payload.Int reads them back as integers.
func DecodePayload(r io.Reader) (Payload, error) {
	var p Payload
	err := decodeLimited(r, &p)
	return p, err
}

// DecodeResponse reads one JSON response from r.
func DecodeResponse(r io.Reader) (Response, error) {
	var resp Response
	err := decodeLimited(r, &resp)
	return resp, err
}

// WriteResponse answers an update: it writes resp as JSON with the given
// HTTP status and the JSON content type.
func WriteResponse(w http.ResponseWriter, status int, resp Response) error {
	body, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("payload: encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

func decodeLimited(r io.Reader, v any) error {
	body, err := io.ReadAll(io.LimitReader(r, MaxBodySize+1))
	if err != nil {
		return fmt.Errorf("payload: read body: %w", err)
	}
	if len(body) > MaxBodySize {
		return ErrBodyTooLarge
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("payload: body is not valid JSON for %T: %w", v, err)
	}
	return nil
}
