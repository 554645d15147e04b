package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

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
}

// ErrTooManyValues reports input over ParseOptions.MaxValues.
var ErrTooManyValues = errors.New("payload: too many JSON values")

// ParseValue reads one JSON value into the forms encoding/json gives an
// `any`: map[string]any, []any, string, float64 or json.Number, bool and
// nil. It accepts exactly what encoding/json accepts: invalid UTF-8 and
// lone surrogates become U+FFFD, a repeated member name keeps its last
// value, and nothing but white space may follow the value.
//
// Tokens come from jsontext, the tokeniser of the JSON library whose
// design becomes encoding/json/v2: it reads the input once, where
// encoding/json scans it twice and builds maps through reflection.
func ParseValue(data []byte, opts ParseOptions) (any, error) {
	r := newValueReader(data, opts)
	v, err := r.value()
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return nil, r.describe(err)
	}
	return v, nil
}

// valueReader builds Go values from the tokens of one input.
type valueReader struct {
	dec       *jsontext.Decoder
	useNumber bool
	left      int // values still allowed; negative: no limit
}

func newValueReader(data []byte, opts ParseOptions) *valueReader {
	left := opts.MaxValues
	if left <= 0 {
		left = -1
	}
	// encoding/json's rules: invalid UTF-8 is mangled rather than refused,
	// and the last of two equal names wins.
	dec := jsontext.NewDecoder(bytes.NewBuffer(data), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	return &valueReader{dec: dec, useNumber: opts.UseNumber, left: left}
}

// end checks that only white space follows the value.
func (r *valueReader) end() error {
	if _, err := r.dec.ReadToken(); err != io.EOF {
		if err == nil {
			return errors.New("more than one JSON value")
		}
		return err
	}
	return nil
}

func (r *valueReader) describe(err error) error {
	if errors.Is(err, ErrTooManyValues) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("payload: invalid JSON: %w", err)
}

func (r *valueReader) value() (any, error) {
	if r.left == 0 {
		return nil, ErrTooManyValues
	}
	r.left--
	tok, err := r.dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		return r.object()
	case '[':
		return r.list()
	case '"':
		return tok.String(), nil
	case '0':
		return r.number(tok.String())
	case 't', 'f':
		return tok.Bool(), nil
	}
	return nil, nil // null
}

func (r *valueReader) number(text string) (any, error) {
	if r.useNumber {
		return json.Number(text), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil { // out of float64's range, as encoding/json refuses it
		return nil, fmt.Errorf("number %s does not fit a float64", text)
	}
	return f, nil
}

func (r *valueReader) object() (map[string]any, error) {
	obj := make(map[string]any)
	for r.dec.PeekKind() == '"' {
		name, err := r.dec.ReadToken()
		if err != nil {
			return nil, err
		}
		key := name.String()
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		obj[key] = v
	}
	if _, err := r.dec.ReadToken(); err != nil { // '}', or the error that stopped the loop
		return nil, err
	}
	return obj, nil
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
