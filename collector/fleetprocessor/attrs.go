package fleetprocessor

import "go.opentelemetry.io/collector/pdata/pcommon"

// savedAttr is one attribute as encoding/gob writes it. A series' key
// tells an int from the same digits as a string (attrKey writes the
// type), so the type is kept as it was, slices and maps included.
type savedAttr struct {
	Key   string
	Value savedAttrValue
}

type savedAttrValue struct {
	Type  pcommon.ValueType
	Str   string
	Int   int64
	Float float64
	Bool  bool
	Bytes []byte
	Slice []savedAttrValue
	Map   []savedAttr
}

func saveAttrs(m pcommon.Map) []savedAttr {
	if m.Len() == 0 {
		return nil
	}
	out := make([]savedAttr, 0, m.Len())
	for k, v := range m.All() {
		out = append(out, savedAttr{k, saveAttrValue(v)})
	}
	return out
}

func saveAttrValue(v pcommon.Value) savedAttrValue {
	s := savedAttrValue{Type: v.Type()}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s.Str = v.Str()
	case pcommon.ValueTypeInt:
		s.Int = v.Int()
	case pcommon.ValueTypeDouble:
		s.Float = v.Double()
	case pcommon.ValueTypeBool:
		s.Bool = v.Bool()
	case pcommon.ValueTypeBytes:
		s.Bytes = v.Bytes().AsRaw()
	case pcommon.ValueTypeSlice:
		for _, e := range v.Slice().All() {
			s.Slice = append(s.Slice, saveAttrValue(e))
		}
	case pcommon.ValueTypeMap:
		s.Map = saveAttrs(v.Map())
	}
	return s
}

func restoreAttrs(saved []savedAttr) pcommon.Map {
	m := pcommon.NewMap()
	putAttrsInto(m, saved)
	return m
}

func putAttrsInto(m pcommon.Map, saved []savedAttr) {
	m.EnsureCapacity(len(saved))
	for _, a := range saved {
		restoreAttrValue(m.PutEmpty(a.Key), a.Value)
	}
}

// restoreAttrValue writes s into v; an unknown type stays empty.
func restoreAttrValue(v pcommon.Value, s savedAttrValue) {
	switch s.Type {
	case pcommon.ValueTypeStr:
		v.SetStr(s.Str)
	case pcommon.ValueTypeInt:
		v.SetInt(s.Int)
	case pcommon.ValueTypeDouble:
		v.SetDouble(s.Float)
	case pcommon.ValueTypeBool:
		v.SetBool(s.Bool)
	case pcommon.ValueTypeBytes:
		v.SetEmptyBytes().FromRaw(s.Bytes)
	case pcommon.ValueTypeSlice:
		sl := v.SetEmptySlice()
		for _, e := range s.Slice {
			restoreAttrValue(sl.AppendEmpty(), e)
		}
	case pcommon.ValueTypeMap:
		putAttrsInto(v.SetEmptyMap(), s.Map)
	}
}
