package payload

import (
	"errors"

	"github.com/go-json-experiment/json/jsontext"
)

// RawMember is one member of a JSON object, its value kept as JSON text.
type RawMember struct {
	Name  string
	Value string
}

// RawMembers reads the JSON object in data and returns its members in
// order, each value as its text, untouched: a reader that passes a value
// on (an attribute set, a recorded JSON value) keeps it byte for byte, and
// parses only the members it needs with ParseValue.
func RawMembers(data []byte) ([]RawMember, error) {
	r := readerPool.Get().(*valueReader)
	defer r.release()
	r.reset(data, ParseOptions{})
	if err := r.open('{', "an object"); err != nil {
		return nil, r.describe(err)
	}
	var out []RawMember
	for r.dec.PeekKind() == '"' {
		name, err := r.str()
		if err != nil {
			return nil, r.describe(err)
		}
		v, err := r.raw()
		if err != nil {
			return nil, r.describe(err)
		}
		out = append(out, RawMember{name, v})
	}
	if err := r.close(); err != nil {
		return nil, r.describe(err)
	}
	return out, nil
}

// RawElements reads the JSON array in data and returns the text of each
// element, in order.
func RawElements(data []byte) ([]string, error) {
	r := readerPool.Get().(*valueReader)
	defer r.release()
	r.reset(data, ParseOptions{})
	if err := r.open('[', "an array"); err != nil {
		return nil, r.describe(err)
	}
	out := []string{}
	for kind := r.dec.PeekKind(); kind != ']' && kind != 0; kind = r.dec.PeekKind() {
		v, err := r.raw()
		if err != nil {
			return nil, r.describe(err)
		}
		out = append(out, v)
	}
	if err := r.close(); err != nil {
		return nil, r.describe(err)
	}
	return out, nil
}

// open reads the token that starts the value, which must be of kind.
func (r *valueReader) open(kind jsontext.Kind, what string) error {
	if r.dec.PeekKind() != kind {
		if _, err := r.dec.ReadToken(); err != nil {
			return err
		}
		return errors.New("expected " + what)
	}
	_, err := r.dec.ReadToken()
	return err
}

// close reads the token that ends the value, then checks that nothing
// follows it.
func (r *valueReader) close() error {
	if _, err := r.dec.ReadToken(); err != nil {
		return err
	}
	return r.end()
}
