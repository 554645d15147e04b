package bridge

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unsafe"

	"github.com/telemetrybridge/telemetry/internal/journal"
	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/otel/attribute"
)

// jsonText is a recorded value kept as its JSON encoding: maps, slices,
// structs and anything else that is not a plain string, bool or number.
// Encoding at record time captures the value, so a caller that changes its
// map or slice afterwards changes nothing that is sent and races with nothing.
type jsonText string

// capture returns the form in which a recorded value is kept: a Go
// integer, float64, string, bool or jsonText. Integers keep the caller's
// own box (asInt64 reads them), so that keeping one allocates nothing. A
// value that cannot be encoded as JSON (a channel, a func, NaN, a
// MarshalJSON that fails or panics) is an error.
func capture(v any) (any, error) {
	switch x := v.(type) {
	case string, bool, int64, int, int8, int16, int32, uint8, uint16, uint32:
		return v, nil
	case float64:
		if err := finite(x); err != nil {
			return nil, err
		}
		return v, nil
	case float32:
		if err := finite(float64(x)); err != nil {
			return nil, err
		}
		return float64(x), nil
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return v, nil
		}
	case uint64:
		if x <= math.MaxInt64 {
			return v, nil
		}
	}
	return encodeJSON(v)
}

// asInt64 reads a captured integer of any Go integer type.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		return int64(x), true // capture kept only those that fit
	case uint64:
		return int64(x), true
	}
	return 0, false
}

func finite(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%v cannot be sent: JSON has no such number", f)
	}
	return nil
}

// encodeJSON encodes v with the protocol's writer, turning a panic in a
// MarshalJSON method into an error so that it cannot reach the host
// program.
func encodeJSON(v any) (text any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encoding a %T as JSON panicked: %v", v, r)
		}
	}()
	var w payload.Writer
	if err := w.Value(v); err != nil {
		return nil, fmt.Errorf("a %T cannot be encoded as JSON: %w", v, err)
	}
	return jsonText(w.Bytes()), nil
}

// valueAttribute carries a captured value as the exporter's value attribute.
func valueAttribute(v any) attribute.KeyValue {
	switch x := v.(type) {
	case string:
		return attribute.String(payload.AttrValue, x)
	case bool:
		return attribute.Bool(payload.AttrValue, x)
	case float64:
		return attribute.Float64(payload.AttrValue, x)
	case jsonText:
		return attribute.String(payload.AttrValueJSON, string(x))
	}
	if n, ok := asInt64(v); ok {
		return attribute.Int64(payload.AttrValue, n)
	}
	// capture returns nothing else.
	return attribute.String(payload.AttrValueJSON, "null")
}

// hashable reports whether v can key a map without panicking: its dynamic
// type and everything inside it (interface fields included) is comparable.
func hashable(v any) bool {
	switch v.(type) {
	case string, bool, int, int64, int32, uint64, uint32, float64, nil:
		return true
	}
	return reflect.ValueOf(v).Comparable()
}

// journalForm returns the journal's form of a captured value: its type
// and its bytes, which for a string are the string's own (read, never
// written) and for a number are put in buf.
func journalForm(v any, buf *[8]byte) (journal.Type, []byte) {
	switch x := v.(type) {
	case string:
		return journal.TypeString, unsafe.Slice(unsafe.StringData(x), len(x))
	case jsonText:
		return journal.TypeJSON, unsafe.Slice(unsafe.StringData(string(x)), len(x))
	case bool:
		buf[0] = 0
		if x {
			buf[0] = 1
		}
		return journal.TypeBool, buf[:1]
	case float64:
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(x))
		return journal.TypeFloat, buf[:]
	}
	n, _ := asInt64(v) // capture returns nothing else
	binary.LittleEndian.PutUint64(buf[:], uint64(n))
	return journal.TypeInt, buf[:]
}

// journalValue writes a held value to its journal record.
func (b *Bridge) journalValue(rec *journal.Value, k journal.Kind, key, sub string, v *held) {
	if b.journal == nil {
		return
	}
	var ok bool
	if t, bits, isNumber := journalNumber(v.v); isNumber {
		ok = b.journal.PutNumber(rec, k, key, sub, t, bits, v.change)
	} else {
		var buf [8]byte
		t, raw := journalForm(v.v, &buf)
		ok = b.journal.Put(rec, k, key, sub, t, raw, v.change)
	}
	if !ok {
		b.notJournaled(key)
	}
}

// journalNumber returns the journal's form of the numbers most often set
// (int, int64, float64) without going through journalForm's cases: the
// path of a value that changes on every call.
func journalNumber(v any) (journal.Type, uint64, bool) {
	switch x := v.(type) {
	case int:
		return journal.TypeInt, uint64(x), true
	case int64:
		return journal.TypeInt, uint64(x), true
	case float64:
		return journal.TypeFloat, math.Float64bits(x), true
	}
	return 0, 0, false
}

// notJournaled reports, once per key and interval, a figure kept in memory
// only: a value too large for a journal record, or a full journal.
func (b *Bridge) notJournaled(key string) {
	if b.journal != nil {
		b.misuse(key, "is kept in memory only: the journal is full or the value is larger than a journal record, so a crash before the next update loses it")
	}
}
