package payload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// CountingSet is a set that remembers how often each value was added.
// Its JSON form is a list of {"value": v, "count": n} objects, sorted by
// the JSON text of the values so that equal sets encode identically.
type CountingSet map[any]int

// CountedValue is one element of a CountingSet in its JSON form.
type CountedValue struct {
	Value any `json:"value"`
	Count int `json:"count"`
}

// MarshalJSON encodes the set as a sorted list of counted values.
func (s CountingSet) MarshalJSON() ([]byte, error) {
	type encoded struct {
		value json.RawMessage
		count int
	}
	items := make([]encoded, 0, len(s))
	for v, n := range s {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("counting set value %T: %w", v, err)
		}
		items = append(items, encoded{raw, n})
	}
	slices.SortFunc(items, func(a, b encoded) int { return bytes.Compare(a.value, b.value) })

	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"value":`)
		buf.Write(it.value)
		fmt.Fprintf(&buf, `,"count":%d}`, it.count)
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes the list form. Values that decode to JSON objects or
// arrays cannot be map keys; they are kept as their JSON text instead.
func (s *CountingSet) UnmarshalJSON(b []byte) error {
	var items []struct {
		Value json.RawMessage `json:"value"`
		Count int             `json:"count"`
	}
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	set := make(CountingSet, len(items))
	for _, it := range items {
		var v any
		if err := json.Unmarshal(it.Value, &v); err != nil {
			return err
		}
		switch v.(type) {
		case map[string]any, []any:
			v = string(it.Value)
		}
		set[v] += it.Count
	}
	*s = set
	return nil
}
