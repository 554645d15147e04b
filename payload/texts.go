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
	top, err := RawMembers(body)
	if err != nil {
		return nil, err
	}
	texts := make(map[string]string)
	for _, m := range top {
		if !strings.EqualFold(m.Name, MemberData) {
			continue
		}
		if m.Value == "null" {
			clear(texts)
			continue
		}
		keys, err := RawMembers([]byte(m.Value))
		if err != nil {
			return nil, fmt.Errorf("payload: data: %w", err)
		}
		for _, k := range keys {
			texts[k.Name] = k.Value
		}
	}
	return texts, nil
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
