package exporter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/telemetrybridge/telemetry/payload"
)

// The spool file is one JSON object:
//
//	{"format": 1, "instance": "<hash>", "gen": 12, "absorbed": ["<token>"],
//	 "entries": [
//	  {"key": "k", "kind": "number", "additive": true, "float": false,
//	   "metric_type": "", "value": <the value as an update carries it>}, ...]}
//
// gen is the latest journal generation whose figures the file holds (see
// package internal/journal): a file of the pending generation commits it
// should the process die before it could. absorbed names owners whose
// files were claimed into this one and may not be deleted yet. version,
// took and replaces keep a figure that moves between the carried file and
// an update file from being claimed from both (see spoolMeta).
//
// Each value is written as an update would write it, by the same writer;
// kind, additive and float are what the JSON alone cannot say and merging
// needs (a count adds up, a gauge is replaced; 3 may be a float). Every
// shape that merges comes back as itself (exponential histograms and
// summaries included, so that they merge after a restart as they do in
// one process); recorded values, which the newer replaces, come back as
// their JSON text.
const spoolFormat = 1

// Members of a spool file and of its entries.
const (
	spoolFormatMember    = "format"
	spoolInstanceMember  = "instance"
	spoolGenMember       = "gen"
	spoolAbsorbedMember  = "absorbed"
	spoolVersionMember   = "version"
	spoolTookMember      = "took"
	spoolReplacesMember  = "replaces"
	spoolUpdateKeyMember = "update_key"
	spoolEntriesMember   = "entries"
	spoolKeyMember       = "key"
	spoolKindMember      = "kind"
	spoolAdditiveMember  = "additive"
	spoolFloatMember     = "float"
	spoolTypeMember      = "metric_type"
	spoolValueMember     = "value"
)

// Kinds of spooled values.
const (
	spoolNumber     = "number"
	spoolObject     = "object"
	spoolList       = "list"
	spoolSet        = "set"
	spoolPoints     = "points"
	spoolHistograms = "histograms"
	spoolExp        = "exp_histograms"
	spoolSummaries  = "summaries"
	spoolText       = "text"
)

// spoolKind names v's kind and says whether its numbers are floats.
func spoolKind(v value) (kind string, float bool) {
	switch x := v.(type) {
	case *number:
		return spoolNumber, x.IsFloat
	case object:
		return spoolObject, false
	case list:
		return spoolList, false
	case *countingSet:
		return spoolSet, false
	case *sumPoints:
		return spoolPoints, len(x.points) > 0 && x.points[0].p.IsFloat
	case *histograms:
		return spoolHistograms, len(x.points) > 0 && x.points[0].p.Sum.IsFloat
	case *expHistograms:
		return spoolExp, len(x.points) > 0 && x.points[0].p.Sum.IsFloat
	case *summaries:
		return spoolSummaries, true
	}
	return spoolText, false
}

// writeSpool writes entries as a spool file into w, leaving out whole
// entries once the file would pass limit bytes, and returns the items of
// those left out. An entry that cannot be written is left out too.
func writeSpool(w *payload.Writer, instance string, meta spoolMeta, entries []entry, limit int) (dropped int) {
	w.BeginObject()
	w.Name(spoolFormatMember)
	w.Int(spoolFormat)
	w.Name(spoolInstanceMember)
	w.String(instance)
	w.Name(spoolGenMember)
	w.Uint(meta.gen)
	writeMeta(w, meta)
	w.Name(spoolEntriesMember)
	w.BeginList()
	// Room for closing the file and for the count of what was left out.
	const reserve = 256
	droppedBefore := 0
	for _, en := range entries {
		if en.key == payload.KeyDropped { // written last, with what is left out here
			if n, ok := en.value.(*number); ok && !n.IsFloat {
				droppedBefore += int(n.Int)
			}
			continue
		}
		mark := w.Mark()
		if err := writeSpoolEntry(w, en); err != nil || len(w.Bytes())+reserve > limit {
			w.Rewind(mark)
			dropped += en.value.items()
		}
	}
	if total := droppedBefore + dropped; total > 0 {
		_ = writeSpoolEntry(w, entry{key: payload.KeyDropped, value: newNumber(payload.IntNumber(int64(total))), additive: true})
	}
	w.EndList()
	w.EndObject()
	return dropped
}

func writeSpoolEntry(w *payload.Writer, en entry) error {
	kind, float := spoolKind(en.value)
	w.BeginObject()
	w.Name(spoolKeyMember)
	w.String(en.key)
	w.Name(spoolKindMember)
	w.String(kind)
	w.Name(spoolAdditiveMember)
	w.Bool(en.additive)
	w.Name(spoolFloatMember)
	w.Bool(float)
	w.Name(spoolTypeMember)
	w.String(en.metricType)
	w.Name(spoolValueMember)
	if err := en.value.write(w); err != nil {
		return err
	}
	w.EndObject()
	return nil
}

// writeMeta writes the members of meta that say something (see spoolMeta).
func writeMeta(w *payload.Writer, meta spoolMeta) {
	if meta.key != "" {
		w.Name(spoolUpdateKeyMember)
		w.String(meta.key)
	}
	for _, n := range []struct {
		name string
		v    uint64
	}{{spoolVersionMember, meta.version}, {spoolTookMember, meta.took}} {
		if n.v != 0 {
			w.Name(n.name)
			w.Uint(n.v)
		}
	}
	for _, l := range []struct {
		name  string
		names []string
	}{{spoolReplacesMember, meta.replaces}, {spoolAbsorbedMember, meta.absorbed}} {
		if len(l.names) == 0 {
			continue
		}
		w.Name(l.name)
		w.BeginList()
		for _, name := range l.names {
			w.String(name)
		}
		w.EndList()
	}
}

// errSpoolFormat marks a file this version cannot read.
var errSpoolFormat = errors.New("not a spool file of a known format")

// spoolMeta is what a spool file says besides its figures.
type spoolMeta struct {
	gen      uint64
	absorbed []string
	// version numbers the carried file's saves; took, in an update file,
	// is the version of the carried file whose figures the update took:
	// should the process die before the carried file is rewritten without
	// them, the claim knows that file's figures are in the update.
	version, took uint64
	// replaces, in a carried file, names update files whose figures it
	// holds: should the process die before deleting them, the claim skips
	// them.
	replaces []string
	// key, in an update file, is the update's key, with which it is sent
	// again (payload.HeaderIdempotencyKey).
	key string
	// unsynced asks the save not to sync the file (replaceFile); it is not
	// written.
	unsynced bool
}

// readSpool reads a spool file: the instance it is for, what it says of
// itself, and its entries.
func readSpool(data []byte) (instance string, meta spoolMeta, entries []entry, err error) {
	members, err := payload.RawMembers(data)
	if err != nil {
		return "", meta, nil, err
	}
	var format int64
	var rawEntries string
	for _, m := range members {
		switch m.Name {
		case spoolFormatMember:
			format, err = parseInt(m.Value)
		case spoolInstanceMember:
			instance, err = parseString(m.Value)
		case spoolGenMember:
			meta.gen, err = strconv.ParseUint(m.Value, 10, 64)
		case spoolAbsorbedMember:
			meta.absorbed, err = readTokens(m.Value)
		case spoolVersionMember:
			meta.version, err = strconv.ParseUint(m.Value, 10, 64)
		case spoolTookMember:
			meta.took, err = strconv.ParseUint(m.Value, 10, 64)
		case spoolReplacesMember:
			meta.replaces, err = readTokens(m.Value)
		case spoolUpdateKeyMember:
			meta.key, err = readUpdateKey(m.Value)
		case spoolEntriesMember:
			rawEntries = m.Value
		}
		if err != nil {
			return "", meta, nil, fmt.Errorf("member %q: %w", m.Name, err)
		}
	}
	if format != spoolFormat {
		return "", meta, nil, fmt.Errorf("%w (format %d; this version reads %d)", errSpoolFormat, format, spoolFormat)
	}
	items, err := payload.RawElements([]byte(rawEntries))
	if err != nil {
		return "", meta, nil, fmt.Errorf("entries: %w", err)
	}
	for i, raw := range items {
		en, err := readSpoolEntry(raw)
		if err != nil {
			return "", meta, nil, fmt.Errorf("entry %d: %w", i, err)
		}
		entries = append(entries, en)
	}
	return instance, meta, entries, nil
}

// maxUpdateKeyLen bounds an update key read from the spool: this package
// writes 36 bytes; a longer key is not one of its own.
const maxUpdateKeyLen = 64

func readUpdateKey(raw string) (string, error) {
	key, err := parseString(raw)
	if err == nil && (len(key) > maxUpdateKeyLen || !printableASCII(key)) {
		err = fmt.Errorf("an update key of %d bytes that is not %d printable ASCII bytes at most", len(key), maxUpdateKeyLen)
	}
	return key, err
}

// printableASCII reports whether s may go in an HTTP header as it is.
func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// maxAbsorbed bounds the owners one file may name as absorbed.
const maxAbsorbed = 1024

func readTokens(raw string) ([]string, error) {
	elements, err := payload.RawElements([]byte(raw))
	if err != nil {
		return nil, err
	}
	if len(elements) > maxAbsorbed {
		return nil, fmt.Errorf("%d owners, more than %d", len(elements), maxAbsorbed)
	}
	tokens := make([]string, len(elements))
	for i, el := range elements {
		if tokens[i], err = parseString(el); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

func readSpoolEntry(raw string) (entry, error) {
	members, err := payload.RawMembers([]byte(raw))
	if err != nil {
		return entry{}, err
	}
	var en entry
	var kind, rawValue string
	var float bool
	for _, m := range members {
		switch m.Name {
		case spoolKeyMember:
			en.key, err = parseString(m.Value)
		case spoolKindMember:
			kind, err = parseString(m.Value)
		case spoolAdditiveMember:
			en.additive, err = parseBool(m.Value)
		case spoolFloatMember:
			float, err = parseBool(m.Value)
		case spoolTypeMember:
			en.metricType, err = parseString(m.Value)
		case spoolValueMember:
			rawValue = m.Value
		}
		if err != nil {
			return entry{}, fmt.Errorf("member %q: %w", m.Name, err)
		}
	}
	if rawValue == "" {
		return entry{}, errors.New("no value")
	}
	en.value, err = readSpoolValue(kind, float, rawValue)
	if err != nil {
		return entry{}, fmt.Errorf("key %q: %w", en.key, err)
	}
	return en, nil
}

func readSpoolValue(kind string, float bool, raw string) (value, error) {
	switch kind {
	case spoolNumber:
		n, err := parseNumber(raw, float)
		return newNumber(n), err
	case spoolObject:
		return readObject(raw)
	case spoolList:
		return readList(raw)
	case spoolSet:
		return readCountingSet(raw)
	case spoolPoints:
		p, err := readPoints(raw, func(members []payload.RawMember) (payload.Number, error) {
			return parseNumber(memberText(members, payload.MemberValue), float)
		})
		return &sumPoints{p}, err
	case spoolHistograms:
		p, err := readPoints(raw, func(members []payload.RawMember) (payload.Histogram, error) {
			return readHistogram(members, float)
		})
		return &histograms{p}, err
	case spoolExp:
		p, err := readPoints(raw, func(members []payload.RawMember) (payload.ExpHistogram, error) {
			return readExpHistogram(members, float)
		})
		return &expHistograms{p}, err
	case spoolSummaries:
		p, err := readPoints(raw, readSummary)
		return &summaries{p}, err
	case spoolText:
		return leaf{json: raw, isJSON: true}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

func readObject(raw string) (value, error) {
	members, err := payload.RawMembers([]byte(raw))
	if err != nil {
		return nil, err
	}
	o := make(object, len(members))
	for i, m := range members {
		o[i] = member{name: m.Name, value: leaf{json: m.Value, isJSON: true}}
	}
	return o, nil
}

func readList(raw string) (value, error) {
	elements, err := payload.RawElements([]byte(raw))
	if err != nil {
		return nil, err
	}
	l := make(list, len(elements))
	for i, el := range elements {
		l[i] = leaf{json: el, isJSON: true}
	}
	return l, nil
}

func readCountingSet(raw string) (value, error) {
	elements, err := payload.RawElements([]byte(raw))
	if err != nil {
		return nil, err
	}
	s := &countingSet{}
	for _, el := range elements {
		members, err := payload.RawMembers([]byte(el))
		if err != nil {
			return nil, err
		}
		v := memberText(members, payload.MemberValue)
		count, err := parseInt(memberText(members, payload.MemberCount))
		if v == "" || err != nil {
			return nil, fmt.Errorf("counted value %s: want a value and a count", el)
		}
		start := len(s.arena)
		s.arena = append(s.arena, v...)
		s.add(start, count)
	}
	s.settle()
	return s, nil
}

// readPoints reads the points of an attributed value: a list of objects
// with their attributes, or one object without any.
func readPoints[P any](raw string, point func([]payload.RawMember) (P, error)) (attributed[P], error) {
	var a attributed[P]
	elements := []string{raw}
	if raw != "" && raw[0] == '[' {
		var err error
		if elements, err = payload.RawElements([]byte(raw)); err != nil {
			return a, err
		}
	}
	for _, el := range elements {
		members, err := payload.RawMembers([]byte(el))
		if err != nil {
			return a, err
		}
		p, err := point(members)
		if err != nil {
			return a, err
		}
		start := len(a.arena)
		a.arena = append(a.arena, memberText(members, payload.MemberAttributes)...)
		a.points = append(a.points, withAttrs[P]{start: start, end: len(a.arena), p: p})
	}
	a.sort()
	return a, nil
}

func readHistogram(members []payload.RawMember, float bool) (payload.Histogram, error) {
	var h payload.Histogram
	var err error
	for _, m := range members {
		switch m.Name {
		case payload.MemberCount:
			var n int64
			n, err = parseInt(m.Value)
			h.Count = uint64(n)
		case payload.MemberSum:
			h.Sum, err = parseNumber(m.Value, float)
		case payload.MemberMin:
			h.Min, err = parseNumber(m.Value, float)
			h.HasMin = true
		case payload.MemberMax:
			h.Max, err = parseNumber(m.Value, float)
			h.HasMax = true
		case payload.MemberBounds:
			err = json.Unmarshal([]byte(m.Value), &h.Bounds)
		case payload.MemberBucketCounts:
			err = json.Unmarshal([]byte(m.Value), &h.BucketCounts)
		}
		if err != nil {
			return h, fmt.Errorf("histogram member %q: %w", m.Name, err)
		}
	}
	return h, nil
}

// Scales of an exponential histogram that OpenTelemetry defines.
const (
	minExpScale = -10
	maxExpScale = 20
)

func readExpHistogram(members []payload.RawMember, float bool) (payload.ExpHistogram, error) {
	var h payload.ExpHistogram
	var err error
	for _, m := range members {
		switch m.Name {
		case payload.MemberCount:
			h.Count, err = strconv.ParseUint(m.Value, 10, 64)
		case payload.MemberSum:
			h.Sum, err = parseNumber(m.Value, float)
		case payload.MemberMin:
			h.Min, err = parseNumber(m.Value, float)
			h.HasMin = true
		case payload.MemberMax:
			h.Max, err = parseNumber(m.Value, float)
			h.HasMax = true
		case payload.MemberScale:
			var scale int64
			scale, err = strconv.ParseInt(m.Value, 10, 32)
			if err == nil && (scale < minExpScale || scale > maxExpScale) {
				err = fmt.Errorf("scale %d is not within [%d, %d]", scale, minExpScale, maxExpScale)
			}
			h.Scale = int32(scale)
		case payload.MemberZeroCount:
			h.ZeroCount, err = strconv.ParseUint(m.Value, 10, 64)
		case payload.MemberZeroThresh:
			h.ZeroThreshold, err = strconv.ParseFloat(m.Value, 64)
		case payload.MemberPositive:
			h.Positive, err = readExpBuckets(m.Value)
		case payload.MemberNegative:
			h.Negative, err = readExpBuckets(m.Value)
		}
		if err != nil {
			return h, fmt.Errorf("exponential histogram member %q: %w", m.Name, err)
		}
	}
	return h, nil
}

func readExpBuckets(raw string) (payload.ExpBuckets, error) {
	var b payload.ExpBuckets
	members, err := payload.RawMembers([]byte(raw))
	if err != nil {
		return b, err
	}
	for _, m := range members {
		switch m.Name {
		case payload.MemberOffset:
			var off int64
			off, err = strconv.ParseInt(m.Value, 10, 32)
			b.Offset = int32(off)
		case payload.MemberBucketCounts:
			err = json.Unmarshal([]byte(m.Value), &b.Counts)
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

func readSummary(members []payload.RawMember) (payload.Summary, error) {
	var s payload.Summary
	var err error
	for _, m := range members {
		switch m.Name {
		case payload.MemberCount:
			s.Count, err = strconv.ParseUint(m.Value, 10, 64)
		case payload.MemberSum:
			s.Sum, err = strconv.ParseFloat(m.Value, 64)
		case payload.MemberQuantiles:
			var qs []struct{ Quantile, Value float64 }
			err = json.Unmarshal([]byte(m.Value), &qs)
			for _, q := range qs {
				s.Quantiles = append(s.Quantiles, payload.Quantile{Quantile: q.Quantile, Value: q.Value})
			}
		}
		if err != nil {
			return s, fmt.Errorf("summary member %q: %w", m.Name, err)
		}
	}
	return s, nil
}

// memberText returns the text of the member called name, or "".
func memberText(members []payload.RawMember, name string) string {
	for _, m := range members {
		if m.Name == name {
			return m.Value
		}
	}
	return ""
}

func parseNumber(raw string, float bool) (payload.Number, error) {
	if float {
		f, err := strconv.ParseFloat(raw, 64)
		return payload.FloatNumber(f), err
	}
	n, err := parseInt(raw)
	return payload.IntNumber(n), err
}

func parseInt(raw string) (int64, error) { return strconv.ParseInt(raw, 10, 64) }

func parseString(raw string) (string, error) {
	v, err := payload.ParseValue([]byte(raw), payload.ParseOptions{})
	s, ok := v.(string)
	if err == nil && !ok {
		err = fmt.Errorf("%s is not a string", raw)
	}
	return s, err
}

func parseBool(raw string) (bool, error) { return strconv.ParseBool(raw) }
