package payload

import (
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// DataTexts returns the JSON text of each key in the data of an update,
// as the body carries it, for a server that passes a value on as its
// client wrote it rather than as a decoding and re-encoding would spell
// it (the order of a struct's fields, its escapes). The keys are those
// ParseUpdate puts in Update.Data, by the same rules: data members match
// their name regardless of case, a later one adds to the earlier ones,
// null empties them, and of a key given twice the last counts. The body
// is read again, so a server calls this only for an update that has such
// a value; it is expected to have passed ParseUpdate.
func DataTexts(body []byte) (map[string]string, error) {
	r := readerPool.Get().(*valueReader)
	defer r.release()
	r.reset(body, ParseOptions{})
	if err := r.open('{', "an object"); err != nil {
		return nil, r.describe(err)
	}
	texts := make(map[string]string)
	for r.dec.PeekKind() == '"' {
		name, err := r.str()
		if err == nil {
			if strings.EqualFold(name, MemberData) {
				err = r.dataTexts(texts)
			} else {
				err = r.dec.SkipValue()
			}
		}
		if err != nil {
			return nil, r.describe(err)
		}
	}
	if err := r.close(); err != nil {
		return nil, r.describe(err)
	}
	return texts, nil
}

// dataTexts reads one data member into texts: null empties it, an object
// adds its members.
func (r *valueReader) dataTexts(texts map[string]string) error {
	if r.dec.PeekKind() == 'n' {
		clear(texts)
		_, err := r.dec.ReadToken()
		return err
	}
	if err := r.open('{', "data as an object"); err != nil {
		return err
	}
	for r.dec.PeekKind() == '"' {
		name, err := r.str()
		if err != nil {
			return err
		}
		if texts[name], err = r.raw(); err != nil {
			return err
		}
	}
	_, err := r.dec.ReadToken() // '}', or the error that stopped the loop
	return err
}

// CompactText returns text, one JSON value, without the white space
// between its tokens. Strings and numbers stay as they are written, so
// what a Writer wrote comes back unchanged, and a value a client spelled
// with spaces or line breaks reads as a Writer would have spaced it.
// Text that is not one JSON value, or that holds invalid UTF-8 (which an
// OpenTelemetry string attribute cannot carry), is refused.
func CompactText(text string) (string, error) {
	v := jsontext.Value(text)
	if err := v.Compact(jsontext.AllowInvalidUTF8(false)); err != nil {
		return "", fmt.Errorf("payload: %.40q is not one JSON value in UTF-8: %w", text, err)
	}
	return string(v), nil
}
