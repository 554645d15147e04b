package payload

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxBodySize bounds how much of a payload or response body the helpers of
// this package read, so that a peer cannot exhaust memory.
const MaxBodySize = 16 << 20

// ErrBodyTooLarge is returned when a body exceeds MaxBodySize.
var ErrBodyTooLarge = errors.New("payload: body exceeds the size limit")

// fill sets the members of p from a parsed update with encoding/json's
// rules: names match regardless of case, null leaves a member as it was
// (but empties data), and a member of the wrong type is an error.
func (p *Payload) fill(top any) error {
	if top == nil {
		return nil
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return errors.New("payload: the body is not a JSON object: send one update object per request")
	}
	for name, v := range obj {
		if err := p.set(name, v); err != nil {
			return err
		}
	}
	return nil
}

// set applies one top-level member, if it is one of p's.
func (p *Payload) set(name string, v any) error {
	switch {
	case strings.EqualFold(name, MemberInstanceID):
		return setString(&p.InstanceID, v, name)
	case strings.EqualFold(name, MemberTimestamp):
		return setTime(&p.Timestamp, v, name)
	case strings.EqualFold(name, MemberExpectNext):
		return setTime(&p.ExpectNext, v, name)
	case strings.EqualFold(name, MemberData):
		return setData(&p.Data, v)
	}
	return nil
}

func setString(dst *string, v any, name string) error {
	switch s := v.(type) {
	case nil:
	case string:
		*dst = s
	default:
		return fmt.Errorf("payload: %s is not a string", name)
	}
	return nil
}

func setTime(dst *time.Time, v any, name string) error {
	switch s := v.(type) {
	case nil:
	case string:
		// UnmarshalText applies the strict RFC 3339 rules encoding/json does.
		var t time.Time
		if err := t.UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("payload: %s %q is not an RFC 3339 time", name, s)
		}
		*dst = t
	default:
		return fmt.Errorf("payload: %s is not an RFC 3339 time string", name)
	}
	return nil
}

func setData(dst *map[string]any, v any) error {
	switch m := v.(type) {
	case nil:
		*dst = nil
	case map[string]any:
		if *dst == nil {
			*dst = m
			return nil
		}
		for k, x := range m { // a second data member adds to the first
			(*dst)[k] = x
		}
	default:
		return errors.New("payload: data is not an object of keys")
	}
	return nil
}

// DecodeResponse reads one JSON response from r, up to MaxBodySize, with
// encoding/json's rules for the Response type.
func DecodeResponse(r io.Reader) (Response, error) {
	var resp Response
	body, err := readLimited(r)
	if err != nil {
		return resp, err
	}
	// A Response is five typed members; encoding/json's struct decoding
	// is the reference for them and there is nothing large to stream.
	if err := json.Unmarshal(body, &resp); err != nil {
		return resp, fmt.Errorf("payload: body is not valid JSON for a Response: %w", err)
	}
	return resp, nil
}

// WriteResponse answers an update: it writes resp as JSON with the given
// HTTP status and the JSON content type.
func WriteResponse(w http.ResponseWriter, status int, resp Response) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := w.Write(AppendResponse(nil, resp))
	return err
}

// AppendResponse appends resp as JSON, with the members of its tags.
func AppendResponse(dst []byte, resp Response) []byte {
	var w Writer
	w.Reset(dst)
	w.BeginObject()
	w.Name("next_update")
	w.Int(int64(resp.NextUpdate))
	if resp.Stop {
		w.Name("stop")
		w.Bool(true)
	}
	if resp.Error != "" {
		w.Name("error")
		w.String(resp.Error)
	}
	w.StringsMember("disable_keys", resp.DisableKeys)
	w.StringsMember("enable_keys", resp.EnableKeys)
	w.EndObject()
	return w.Bytes()
}

func readLimited(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("payload: read body: %w", err)
	}
	if len(body) > MaxBodySize {
		return nil, ErrBodyTooLarge
	}
	return body, nil
}
