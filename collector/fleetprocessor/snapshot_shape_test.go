package fleetprocessor

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"strings"
	"testing"
)

// pinnedSnapshotShape is the shape of savedState that tagSnapshot stands
// for. gob reads a snapshot whose fields were added, removed or renamed
// without a word (missing fields stay zero), so a change of the saved
// types must come with a new tag; this test says when.
const (
	pinnedSnapshotTag   = "FS1"
	pinnedSnapshotShape = "d36da7e6c8e33b16"
)

func TestSnapshotTagFollowsTheSavedTypes(t *testing.T) {
	shape := typeShape(reflect.TypeOf(savedState{}), map[reflect.Type]bool{})
	h := fnv.New64a()
	h.Write([]byte(shape))
	got := fmt.Sprintf("%016x", h.Sum64())
	if tagSnapshot != pinnedSnapshotTag || got != pinnedSnapshotShape {
		t.Errorf("the saved types are %s under tag %s, pinned %s under %s: when they change, give tagSnapshot a new value and pin both here (old snapshots are then set aside, not read wrong)\n%s",
			got, tagSnapshot, pinnedSnapshotShape, pinnedSnapshotTag, shape)
	}
}

// typeShape writes what gob encodes of t: its kinds, and the names and
// shapes of exported struct fields.
func typeShape(t reflect.Type, seen map[reflect.Type]bool) string {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return t.Kind().String() + "(" + typeShape(t.Elem(), seen) + ")"
	case reflect.Map:
		return "map(" + typeShape(t.Key(), seen) + "," + typeShape(t.Elem(), seen) + ")"
	case reflect.Struct:
		if seen[t] {
			return t.Name()
		}
		seen[t] = true
		var b strings.Builder
		b.WriteString(t.Name() + "{")
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				b.WriteString(f.Name + ":" + typeShape(f.Type, seen) + ";")
			}
		}
		return b.String() + "}"
	}
	return t.Kind().String()
}
