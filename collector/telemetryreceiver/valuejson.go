package telemetryreceiver

import "github.com/telemetrybridge/telemetry/payload"

// valueTexts finds, in the body of an update, the JSON text of the values
// that become telemetry.value_json. The label is that text as the client
// wrote it, without white space, so that a value recorded by the bridge
// has the label the bridge gives it, byte for byte: decoding and writing
// it again would sort a struct's fields, which the decoded map no longer
// has in their order, and change the escapes of its strings. The body is
// read again only for an update that has such a value.
type valueTexts struct {
	body   []byte
	data   map[string]string // each key's text, once read
	failed bool              // the body could not be read again
	// The members or the elements of lastKey, the key read last: the
	// points of one key are made one after another.
	lastKey  string
	members  map[string]string
	elements []string
}

// member finds data[key][sub].
func (t *valueTexts) member(key, sub string) (string, bool) {
	if t.lastKey != key || t.members == nil {
		text, ok := t.key(key)
		if !ok {
			return "", false
		}
		members, ok := membersOf(text)
		if !ok {
			return "", false
		}
		t.lastKey, t.members, t.elements = key, members, nil
	}
	text, ok := t.members[sub]
	return text, ok
}

// element finds data[key][i].
func (t *valueTexts) element(key string, i int) (string, bool) {
	if t.lastKey != key || t.elements == nil {
		text, ok := t.key(key)
		if !ok {
			return "", false
		}
		elements, err := payload.RawElements([]byte(text))
		if err != nil {
			return "", false
		}
		t.lastKey, t.members, t.elements = key, nil, elements
	}
	if i >= len(t.elements) {
		return "", false
	}
	return t.elements[i], true
}

// countedValue finds data[key][i]["value"], the value of a counting set's
// member.
func (t *valueTexts) countedValue(key string, i int) (string, bool) {
	text, ok := t.element(key, i)
	if !ok {
		return "", false
	}
	members, err := payload.RawMembers([]byte(text))
	if err != nil {
		return "", false
	}
	for i := len(members) - 1; i >= 0; i-- { // the last of two counts
		if members[i].Name == "value" {
			return members[i].Value, true
		}
	}
	return "", false
}

func (t *valueTexts) key(key string) (string, bool) {
	if t.data == nil && !t.failed {
		data, err := payload.DataTexts(t.body)
		t.data, t.failed = data, err != nil
	}
	text, ok := t.data[key]
	return text, ok
}

// membersOf reads the members of the object in text; of a name given
// twice the last counts, as it does in the decoded map.
func membersOf(text string) (map[string]string, bool) {
	list, err := payload.RawMembers([]byte(text))
	if err != nil {
		return nil, false
	}
	members := make(map[string]string, len(list))
	for _, m := range list {
		members[m.Name] = m.Value
	}
	return members, true
}

// valueJSON is the label text of v, an object or a list, given the text
// the body holds for it. Without that text (it cannot be found, or holds
// invalid UTF-8, which an attribute cannot carry) v is written as the
// bridge writes such a value, with U+FFFD for the invalid bytes.
func valueJSON(v any, text string, found bool) string {
	if found {
		if compact, err := payload.CompactText(text); err == nil {
			return compact // a copy: the label does not pin the body
		}
	}
	var w payload.Writer
	if err := w.Value(v); err != nil { // decoded JSON always has a JSON form
		return "null"
	}
	return string(w.Bytes())
}
