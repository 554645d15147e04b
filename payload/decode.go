package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// ParseOptions says how ParseValue builds its result.
type ParseOptions struct {
	// UseNumber gives numbers as json.Number, which keeps every digit of
	// an integer; otherwise they are float64, as encoding/json gives them.
	UseNumber bool
	// MaxValues, when positive, bounds the JSON values (members, elements
	// and scalars alike) that one call reads: a small body of tiny values
	// ("[1,1,1,...]") cannot then take memory out of proportion.
	MaxValues int
	// MaxNameBytes, when positive, bounds the length of every member name
	// (a key, a sub-key, an attribute name), unquoted.
	MaxNameBytes int
	// FiniteNumbers refuses, with UseNumber, a number that does not fit a
	// float64 (1e999999), as decoding into float64 would: such a number
	// would otherwise reach a server's pipeline as an infinity.
	FiniteNumbers bool
}

// ErrTooManyValues reports input over ParseOptions.MaxValues.
var ErrTooManyValues = errors.New("payload: too many JSON values")

// ErrNameTooLong reports a member name over ParseOptions.MaxNameBytes.
var ErrNameTooLong = errors.New("payload: a member name is too long")

// ParseValue reads one JSON value into the forms encoding/json gives an
// `any`: map[string]any, []any, string, float64 or json.Number, bool and
// nil. It accepts exactly what encoding/json accepts: invalid UTF-8 and
// lone surrogates become U+FFFD, a repeated member name keeps its last
// value, and nothing but white space may follow the value.
//
// Tokens come from jsontext, the tokeniser of the JSON library whose
// design becomes encoding/json/v2: it reads the input once, where
// encoding/json scans it twice and builds maps through reflection. The
// input is copied into one string, and names, strings and numbers without
// escapes are slices of it rather than a string each: a server keeps them
// (pdata holds the strings it is given), and one allocation per update
// instead of one per token is what keeps this decoder ahead of the
// hand-written one it replaced.
func ParseValue(data []byte, opts ParseOptions) (any, error) {
	r := readerPool.Get().(*valueReader)
	defer r.release()
	r.reset(data, opts)
	v, err := r.value()
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return nil, r.describe(err)
	}
	return v, nil
}

// valueReader builds Go values from the tokens of one input. Readers are
// pooled: the decoder's state and the member stack are reused.
type valueReader struct {
	dec       jsontext.Decoder
	in        bytes.Buffer // the input, read in place by the decoder
	text      string       // the input, which raw values are slices of
	members   []namedValue // the members of the objects being read
	useNumber bool
	finite    bool // refuse numbers beyond float64, also with useNumber
	left      int  // values still allowed; negative: no limit
	maxName   int  // longest member name allowed; 0: no limit

	// membersUsed is the most members held at once, the part of members
	// that release clears: a reader that once read a large object must
	// not clear all of it again for every small input after.
	membersUsed int
}

var readerPool = sync.Pool{New: func() any { return new(valueReader) }}

// decodeOptions are encoding/json's rules: invalid UTF-8 is mangled rather
// than refused, and the last of two equal names wins.
var decodeOptions = []jsontext.Options{jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)}

func (r *valueReader) reset(data []byte, opts ParseOptions) {
	r.left = opts.MaxValues
	if r.left <= 0 {
		r.left = -1
	}
	r.useNumber = opts.UseNumber
	r.finite = opts.FiniteNumbers
	r.maxName = opts.MaxNameBytes
	r.text = string(data)
	r.in = *bytes.NewBuffer(data)
	r.dec.Reset(&r.in, decodeOptions...)
}

func (r *valueReader) release() {
	r.in, r.text = bytes.Buffer{}, ""
	r.dec.Reset(&r.in) // drops the reference to the input
	clear(r.members[:r.membersUsed])
	r.members, r.membersUsed = r.members[:0], 0
	readerPool.Put(r)
}

// end checks that only white space follows the value.
func (r *valueReader) end() error {
	if _, err := r.dec.ReadToken(); err != io.EOF {
		if err == nil {
			return errors.New("unexpected data after the top-level value: send one JSON value")
		}
		return err
	}
	return nil
}

func (r *valueReader) describe(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrTooManyValues) || errors.Is(err, ErrNameTooLong) || errors.Is(err, errNotFinite) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("payload: invalid JSON: %w", err)
}

// count takes one value from what is still allowed.
func (r *valueReader) count() error {
	if r.left == 0 {
		return ErrTooManyValues
	}
	r.left--
	return nil
}

func (r *valueReader) value() (any, error) {
	if err := r.count(); err != nil {
		return nil, err
	}
	switch r.dec.PeekKind() {
	case '{':
		if _, err := r.dec.ReadToken(); err != nil {
			return nil, err
		}
		return r.object()
	case '[':
		if _, err := r.dec.ReadToken(); err != nil {
			return nil, err
		}
		return r.list()
	case '"':
		return r.str()
	case '0':
		raw, err := r.raw()
		if err != nil {
			return nil, err
		}
		return r.number(raw)
	}
	tok, err := r.dec.ReadToken() // a literal, or the error PeekKind saw
	if err != nil {
		return nil, err
	}
	if k := tok.Kind(); k == 't' || k == 'f' {
		return tok.Bool(), nil
	}
	return nil, nil // null
}

// raw reads the next value and returns its text as a slice of r.text.
func (r *valueReader) raw() (string, error) {
	v, err := r.dec.ReadValue()
	if err != nil {
		return "", err
	}
	end := int(r.dec.InputOffset())
	return r.text[end-len(v) : end], nil
}

// str reads a string (a value or a name) without copying it when it has
// no escapes and is valid UTF-8.
func (r *valueReader) str() (string, error) {
	raw, err := r.raw()
	if err != nil {
		return "", err
	}
	inner := raw[1 : len(raw)-1]
	if strings.IndexByte(inner, '\\') < 0 && utf8.ValidString(inner) {
		return inner, nil
	}
	// The decoder has checked the string. What AppendUnquote can still
	// report is invalid UTF-8 or a lone surrogate, which it has written as
	// U+FFFD: what encoding/json makes of them.
	b, _ := jsontext.AppendUnquote(nil, raw)
	return string(b), nil
}

// name reads a member name, within the bound on its length.
func (r *valueReader) name() (string, error) {
	name, err := r.str()
	if err == nil && r.maxName > 0 && len(name) > r.maxName {
		return "", fmt.Errorf("%w: %d bytes, over the limit of %d (%.40q...)", ErrNameTooLong, len(name), r.maxName, name)
	}
	return name, err
}

var errNotFinite = errors.New("payload: a number is beyond the range of float64")

func (r *valueReader) number(text string) (any, error) {
	if r.useNumber && (!r.finite || !mayOverflow(text)) {
		return json.Number(text), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil { // out of float64's range, as encoding/json refuses it
		return nil, fmt.Errorf("%w: %.40s", errNotFinite, text)
	}
	if r.useNumber {
		return json.Number(text), nil
	}
	return f, nil
}

// mayOverflow reports whether a JSON number could lie beyond float64:
// only one with an exponent or with more than 300 digits can, so most
// numbers skip parsing.
func mayOverflow(text string) bool {
	return len(text) > 300 || strings.ContainsAny(text, "eE")
}

// object reads the members of an object. They are gathered on a stack
// shared by every object of the input, then put into a map made at its
// final size: growing the map member by member cost a tenth of a
// server's time per update.
func (r *valueReader) object() (map[string]any, error) {
	base := len(r.members)
	defer func() {
		r.membersUsed = max(r.membersUsed, len(r.members))
		r.members = r.members[:base]
	}()
	for r.dec.PeekKind() == '"' {
		key, err := r.name()
		if err != nil {
			return nil, err
		}
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		r.members = append(r.members, namedValue{key, v})
	}
	if _, err := r.dec.ReadToken(); err != nil { // '}', or the error that stopped the loop
		return nil, err
	}
	obj := make(map[string]any, len(r.members)-base)
	for _, m := range r.members[base:] {
		obj[m.name] = m.value // in order: a repeated name keeps its last value
	}
	return obj, nil
}

type namedValue struct {
	name  string
	value any
}

func (r *valueReader) list() ([]any, error) {
	list := []any{}
	for kind := r.dec.PeekKind(); kind != ']' && kind != 0; kind = r.dec.PeekKind() {
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	if _, err := r.dec.ReadToken(); err != nil { // ']', or the error that stopped the loop
		return nil, err
	}
	return list, nil
}
