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
	var w Writer
	if err := s.write(&w); err != nil {
		return nil, err
	}
	return w.Bytes(), nil
}

// write writes the set as a list of counted values, sorted by the JSON of
// the values.
func (s CountingSet) write(w *Writer) error {
	type encoded struct {
		value []byte
		count int
	}
	items := make([]encoded, 0, len(s))
	var vw Writer
	for v, n := range s {
		vw.Reset(nil)
		if err := vw.Value(v); err != nil {
			return fmt.Errorf("counting set value %T: %w", v, err)
		}
		items = append(items, encoded{vw.Bytes(), n})
	}
	slices.SortFunc(items, func(a, b encoded) int { return bytes.Compare(a.value, b.value) })
	w.BeginList()
	for _, it := range items {
		w.CountedValue(it.value, int64(it.count))
	}
	w.EndList()
	return nil
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
