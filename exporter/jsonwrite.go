package exporter

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// The payload is written straight into one buffer rather than built as a
// map and handed to encoding/json, which would copy every item and compact
// each nested MarshalJSON output again. These helpers append JSON for the
// values the converter produces; anything else goes through encoding/json.

var errNotFinite = errors.New("JSON has no NaN or infinite numbers")

// appendJSON appends v. After an error, what was appended is garbage: the
// caller cuts dst back to where the value began.
func appendJSON(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case float64:
		return appendFloat(dst, x)
	case string:
		return appendString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case rawJSON:
		return appendRaw(dst, string(x))
	case jsonAppender:
		return x.appendJSON(dst)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// jsonAppender is a converted value that writes its own JSON.
type jsonAppender interface {
	appendJSON(dst []byte) ([]byte, error)
}

// appendFloat writes f as encoding/json does.
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("%v: %w", f, errNotFinite)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' { // e-09 becomes e-9, as encoding/json writes it
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// appendRaw appends JSON text given by an instrument, after checking it.
func appendRaw(dst []byte, text string) ([]byte, error) {
	if !json.Valid([]byte(text)) {
		return dst, fmt.Errorf("%q is not valid JSON", truncate(text, 40))
	}
	return append(dst, text...), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// appendAttr appends an attribute value as its natural JSON.
func appendAttr(dst []byte, v attribute.Value) ([]byte, error) {
	switch v.Type() {
	case attribute.STRING:
		return appendString(dst, v.AsString()), nil
	case attribute.INT64:
		return strconv.AppendInt(dst, v.AsInt64(), 10), nil
	case attribute.BOOL:
		return strconv.AppendBool(dst, v.AsBool()), nil
	case attribute.FLOAT64:
		return appendFloat(dst, v.AsFloat64())
	}
	return appendJSON(dst, v.AsInterface())
}

const hexLower = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as with encoding/json.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
