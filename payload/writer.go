package payload

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// Writer appends the protocol's JSON to a byte slice, value by value, so
// that a client writes an update straight from its own data without
// building maps for encoding/json to walk. It places commas and colons
// itself; the caller says what comes next. The zero Writer is ready to use.
//
// Strings are quoted by jsontext, the tokeniser of the JSON library whose
// design becomes the standard library's encoding/json/v2, rather than by
// code of ours. Its Encoder is not used for the rest: it checks every
// token against a grammar state machine and writes through an io.Writer,
// while the shapes written here are correct by construction and go into
// the caller's pooled buffer. Numbers are written by strconv in
// encoding/json's format.
type Writer struct {
	buf []byte
	// open has one entry per open object or list: whether it already
	// holds an element, so the next one needs a comma.
	open []bool
	// named is set between an object member's name and its value.
	named  bool
	bounds lastFloats
}

// ErrNotFinite reports a NaN or infinite number, which JSON cannot carry.
var ErrNotFinite = errors.New("JSON has no NaN or infinite numbers")

// Reset makes w write into buf from its length on, forgetting any open
// object or list.
func (w *Writer) Reset(buf []byte) {
	w.buf, w.open, w.named = buf, w.open[:0], false
}

// Bytes returns what was written.
func (w *Writer) Bytes() []byte { return w.buf }

// Mark is a point to which a Writer can go back.
type Mark struct {
	n, depth int
	hadOne   bool
	wasNamed bool
}

// Mark returns the current point, so that a value that turns out not to be
// writable (a NaN deep inside a histogram) can be taken back whole.
func (w *Writer) Mark() Mark {
	m := Mark{n: len(w.buf), depth: len(w.open), wasNamed: w.named}
	if m.depth > 0 {
		m.hadOne = w.open[m.depth-1]
	}
	return m
}

// Rewind takes back everything written since m, which must come from an
// object or list that is still open.
func (w *Writer) Rewind(m Mark) {
	w.buf, w.open, w.named = w.buf[:m.n], w.open[:m.depth], m.wasNamed
	if m.depth > 0 {
		w.open[m.depth-1] = m.hadOne
	}
}

// next writes the comma that goes before a value, when one does.
func (w *Writer) next() {
	if w.named {
		w.named = false
		return
	}
	if d := len(w.open); d > 0 {
		if w.open[d-1] {
			w.buf = append(w.buf, ',')
		}
		w.open[d-1] = true
	}
}

// BeginObject opens an object.
func (w *Writer) BeginObject() { w.next(); w.buf = append(w.buf, '{'); w.open = append(w.open, false) }

// EndObject closes the innermost object.
func (w *Writer) EndObject() { w.buf = append(w.buf, '}'); w.open = w.open[:len(w.open)-1] }

// BeginList opens a list.
func (w *Writer) BeginList() { w.next(); w.buf = append(w.buf, '['); w.open = append(w.open, false) }

// EndList closes the innermost list.
func (w *Writer) EndList() { w.buf = append(w.buf, ']'); w.open = w.open[:len(w.open)-1] }

// Name writes the name of an object member; its value comes next.
func (w *Writer) Name(name string) {
	w.next()
	w.buf = appendQuoted(w.buf, name)
	w.buf = append(w.buf, ':')
	w.named = true
}

// String writes s as a JSON string. Bytes that are not UTF-8 become
// U+FFFD, as encoding/json writes them.
func (w *Writer) String(s string) { w.next(); w.buf = appendQuoted(w.buf, s) }

// Int writes an integer.
func (w *Writer) Int(n int64) { w.next(); w.buf = strconv.AppendInt(w.buf, n, 10) }

// Uint writes an unsigned integer.
func (w *Writer) Uint(n uint64) { w.next(); w.buf = strconv.AppendUint(w.buf, n, 10) }

// Bool writes true or false.
func (w *Writer) Bool(b bool) { w.next(); w.buf = strconv.AppendBool(w.buf, b) }

// Null writes null.
func (w *Writer) Null() { w.next(); w.buf = append(w.buf, "null"...) }

// Float writes f as encoding/json does; NaN and infinities are refused
// with ErrNotFinite and write nothing.
func (w *Writer) Float(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%v: %w", f, ErrNotFinite)
	}
	w.next()
	w.buf = AppendFloat(w.buf, f)
	return nil
}

// Number writes n, an integer or a float.
func (w *Writer) Number(n Number) error {
	if n.IsFloat {
		return w.Float(n.Float)
	}
	w.Int(n.Int)
	return nil
}

// CheckedJSON writes text, which must be one JSON value; anything else is refused
// and writes nothing.
func (w *Writer) CheckedJSON(text string) error {
	if !jsontext.Value(text).IsValid(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) {
		return fmt.Errorf("%q is not valid JSON", truncate(text, 40))
	}
	w.next()
	w.buf = append(w.buf, text...)
	return nil
}

// Number is an integer or a floating-point figure.
type Number struct {
	Int     int64
	Float   float64
	IsFloat bool
}

// IntNumber and FloatNumber make a Number.
func IntNumber(n int64) Number     { return Number{Int: n} }
func FloatNumber(f float64) Number { return Number{Float: f, IsFloat: true} }

// AppendFloat appends f in encoding/json's format: the shortest decimal
// that reads back as f, in exponent form below 1e-6 and from 1e21 on.
func AppendFloat(dst []byte, f float64) []byte {
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
	return dst
}

// AppendString appends s as a JSON string, as Writer.String does.
func AppendString(dst []byte, s string) []byte { return appendQuoted(dst, s) }

func appendQuoted(dst []byte, s string) []byte {
	// The only error is invalid UTF-8, which AppendQuote has already
	// written as U+FFFD: what encoding/json does too.
	dst, _ = jsontext.AppendQuote(dst, s)
	return dst
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// BeginUpdate writes the opening of an update: its instance, its time of
// sending, in UTC, and the empty expect_next that the server fills (the
// documented omitempty tag does not omit a zero time, so it travels as
// 0001-01-01T00:00:00Z).
func (w *Writer) BeginUpdate(instanceID string, sent time.Time) {
	w.beginUpdate(instanceID, sent.UTC(), time.Time{})
}

func (w *Writer) beginUpdate(instanceID string, sent, expectNext time.Time) {
	w.BeginObject()
	w.Name(MemberInstanceID)
	w.String(instanceID)
	w.Name(MemberTimestamp)
	w.time(sent)
	w.Name(MemberExpectNext)
	w.time(expectNext)
}

// time writes t as encoding/json does.
func (w *Writer) time(t time.Time) {
	w.next()
	w.buf = append(w.buf, '"')
	w.buf = t.AppendFormat(w.buf, time.RFC3339Nano)
	w.buf = append(w.buf, '"')
}

// BeginData opens the data member; each key follows as a Name and its value.
func (w *Writer) BeginData() Mark {
	m := w.Mark()
	w.Name(MemberData)
	w.BeginObject()
	return m
}

// EndData closes the data member, or takes it back whole when no key was
// written (data is omitted when empty). m is what BeginData returned.
func (w *Writer) EndData(m Mark) {
	if w.buf[len(w.buf)-1] == '{' {
		w.Rewind(m)
		return
	}
	w.EndObject()
}

// EndUpdate closes the update and returns what was written.
func (w *Writer) EndUpdate() []byte {
	w.EndObject()
	return w.buf
}

// StringsMember writes the object member name holding the list of
// strings items; an empty list writes nothing, as for an omitted member.
func (w *Writer) StringsMember(name string, items []string) {
	if len(items) == 0 {
		return
	}
	w.Name(name)
	w.BeginList()
	for _, s := range items {
		w.String(s)
	}
	w.EndList()
}

// WrittenJSON writes JSON that a Writer wrote before (into a buffer of the
// caller's, to be written more than once or used as a sort key). It is
// not checked again.
func (w *Writer) WrittenJSON(json []byte) { w.next(); w.buf = append(w.buf, json...) }

// QuotedName writes the name of an object member given already quoted by
// AppendString, for a caller that writes one name many times.
func (w *Writer) QuotedName(quoted []byte) {
	w.next()
	w.buf = append(w.buf, quoted...)
	w.buf = append(w.buf, ':')
	w.named = true
}
