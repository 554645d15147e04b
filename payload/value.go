package payload

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Append writes p as one update, with the members of its tags, and returns
// the extended buffer. Data values take their encoding/json form; a value
// that has none (a channel, NaN) is an error and nothing is appended.
// Clients that hold OpenTelemetry data write it with a Writer directly;
// Append is for a Payload built as Go values (tests, tools, servers that
// forward updates).
func Append(dst []byte, p Payload) ([]byte, error) {
	var w Writer
	w.Reset(dst)
	w.beginUpdate(p.InstanceID, p.Timestamp, p.ExpectNext)
	if len(p.Data) > 0 {
		data := w.BeginData()
		for _, k := range sortedKeys(p.Data) {
			w.Name(k)
			if err := w.Value(p.Data[k]); err != nil {
				return dst, fmt.Errorf("payload: key %q: %w", k, err)
			}
		}
		w.EndData(data)
	}
	return w.EndUpdate(), nil
}

// Value writes v as encoding/json would. The shapes a payload holds (maps
// of any, lists, CountingSet, numbers, strings) are written here; other
// types go through encoding/json.
func (w *Writer) Value(v any) error {
	switch x := v.(type) {
	case nil:
		w.Null()
	case string:
		w.String(x)
	case bool:
		w.Bool(x)
	case int:
		w.Int(int64(x))
	case int64:
		w.Int(x)
	case int32:
		w.Int(int64(x))
	case uint64:
		w.Uint(x)
	case uint:
		w.Uint(uint64(x))
	case float64:
		return w.Float(x)
	case json.Number:
		return w.jsonNumber(x)
	case map[string]any:
		return w.object(x)
	case []any:
		return w.list(x)
	case CountingSet:
		return x.write(w)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		w.WrittenJSON(b)
	}
	return nil
}

func (w *Writer) jsonNumber(n json.Number) error {
	if n == "" { // what encoding/json writes for an empty Number
		w.Int(0)
		return nil
	}
	if _, err := strconv.ParseFloat(string(n), 64); err != nil || !isJSONNumber(string(n)) {
		return fmt.Errorf("json.Number %q is not a JSON number", string(n))
	}
	w.next()
	w.buf = append(w.buf, n...)
	return nil
}

// isJSONNumber checks the JSON grammar of a number, which ParseFloat is
// more lenient than ("0x1p3", "Inf", "1_000").
func isJSONNumber(s string) bool {
	v, err := ParseValue([]byte(s), ParseOptions{UseNumber: true})
	_, isNumber := v.(json.Number)
	return err == nil && isNumber
}

func (w *Writer) object(m map[string]any) error {
	if m == nil {
		w.Null()
		return nil
	}
	w.BeginObject()
	for _, k := range sortedKeys(m) {
		w.Name(k)
		if err := w.Value(m[k]); err != nil {
			return err
		}
	}
	w.EndObject()
	return nil
}

func (w *Writer) list(l []any) error {
	if l == nil {
		w.Null()
		return nil
	}
	w.BeginList()
	for _, v := range l {
		if err := w.Value(v); err != nil {
			return err
		}
	}
	w.EndList()
	return nil
}

// sortedKeys orders the keys of m as encoding/json writes them.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}
