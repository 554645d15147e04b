package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/telemetrybridge/telemetry/payload"
)

// An entry's stored form is one JSON object:
//
//	{"key": "k", "kind": "number", "additive": true, "float": false,
//	 "metric_type": "", "value": <the value as an update carries it>}
//
// Each value is written as an update would write it, by the same writer;
// kind, additive and float are what the JSON alone cannot say and merging
// needs (a count adds up, a gauge is replaced; 3 may be a float). Every
// shape that merges comes back as itself (exponential histograms and
// summaries included, so that they merge after a restart as they do in
// one process); recorded values, which the newer replaces, come back as
// their JSON text.

// Members of an entry's stored form.
const (
	storedKeyMember      = "key"
	storedKindMember     = "kind"
	storedAdditiveMember = "additive"
	storedFloatMember    = "float"
	storedTypeMember     = "metric_type"
	storedValueMember    = "value"
)

// Kinds of stored values.
const (
	storedNumber        = "number"
	storedObject        = "object"
	storedList          = "list"
	storedSet           = "set"
	storedPoints        = "points"
	storedHistograms    = "histograms"
	storedExpHistograms = "exp_histograms"
	storedSummaries     = "summaries"
	storedText          = "text"
)

// storedKind names v's kind and says whether its numbers are floats.
func storedKind(v Value) (kind string, float bool) {
	switch x := v.(type) {
	case *number:
		return storedNumber, x.IsFloat
	case object:
		return storedObject, false
	case list:
		return storedList, false
	case *countingSet:
		return storedSet, false
	case *sumPoints:
		return storedPoints, len(x.points) > 0 && x.points[0].p.IsFloat
	case *histograms:
		return storedHistograms, len(x.points) > 0 && x.points[0].p.Sum.IsFloat
	case *expHistograms:
		return storedExpHistograms, len(x.points) > 0 && x.points[0].p.Sum.IsFloat
	case *summaries:
		return storedSummaries, true
	}
	return storedText, false
}

// WriteStored writes en in its stored form. After an error (a value that
// cannot be encoded) the caller rewinds w.
func WriteStored(w *payload.Writer, en Entry) error {
	kind, float := storedKind(en.Value)
	w.BeginObject()
	w.Name(storedKeyMember)
	w.String(en.Key)
	w.Name(storedKindMember)
	w.String(kind)
	w.Name(storedAdditiveMember)
	w.Bool(en.Additive)
	w.Name(storedFloatMember)
	w.Bool(float)
	w.Name(storedTypeMember)
	w.String(en.MetricType)
	w.Name(storedValueMember)
	if err := en.Value.Write(w); err != nil {
		return err
	}
	w.EndObject()
	return nil
}

// ReadStored reads an entry from its stored form, whoever wrote it: it
// returns an error for anything that is not one.
func ReadStored(raw string) (Entry, error) {
	members, err := payload.RawMembers([]byte(raw))
	if err != nil {
		return Entry{}, err
	}
	var en Entry
	var kind, rawValue string
	var float bool
	for _, m := range members {
		switch m.Name {
		case storedKeyMember:
			en.Key, err = ParseString(m.Value)
		case storedKindMember:
			kind, err = ParseString(m.Value)
		case storedAdditiveMember:
			en.Additive, err = parseBool(m.Value)
		case storedFloatMember:
			float, err = parseBool(m.Value)
		case storedTypeMember:
			en.MetricType, err = ParseString(m.Value)
		case storedValueMember:
			rawValue = m.Value
		}
		if err != nil {
			return Entry{}, fmt.Errorf("member %q: %w", m.Name, err)
		}
	}
	if rawValue == "" {
		return Entry{}, errors.New("no value")
	}
	en.Value, err = readStoredValue(kind, float, rawValue)
	if err != nil {
		return Entry{}, fmt.Errorf("key %q: %w", en.Key, err)
	}
	return en, nil
}

func readStoredValue(kind string, float bool, raw string) (Value, error) {
	switch kind {
	case storedNumber:
		n, err := parseNumber(raw, float)
		return newNumber(n), err
	case storedObject:
		return readObject(raw)
	case storedList:
		return readList(raw)
	case storedSet:
		return readCountingSet(raw)
	case storedPoints:
		p, err := readPoints(raw, func(members []payload.RawMember) (payload.Number, error) {
			return parseNumber(memberText(members, payload.MemberValue), float)
		})
		return &sumPoints{p}, err
	case storedHistograms:
		p, err := readPoints(raw, func(members []payload.RawMember) (payload.Histogram, error) {
			return readHistogram(members, float)
		})
		return &histograms{p}, err
	case storedExpHistograms:
		p, err := readPoints(raw, func(members []payload.RawMember) (payload.ExpHistogram, error) {
			return readExpHistogram(members, float)
		})
		return &expHistograms{p}, err
	case storedSummaries:
		p, err := readPoints(raw, readSummary)
		return &summaries{p}, err
	case storedText:
		return JSONText(raw), nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

func readObject(raw string) (Value, error) {
	members, err := payload.RawMembers([]byte(raw))
	if err != nil {
		return nil, err
	}
	return JSONObject(members), nil
}

func readList(raw string) (Value, error) {
	elements, err := payload.RawElements([]byte(raw))
	if err != nil {
		return nil, err
	}
	return JSONList(elements), nil
}

func readCountingSet(raw string) (Value, error) {
	elements, err := payload.RawElements([]byte(raw))
	if err != nil {
		return nil, err
	}
	counts := make([]CountedJSON, 0, len(elements))
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
		counts = append(counts, CountedJSON{JSON: v, Count: count})
	}
	return CountedValues(counts), nil
}

// JSONText is a recorded value kept as its JSON text.
func JSONText(raw string) Value { return leaf{json: raw, isJSON: true} }

// JSONObject is a key recorded per sub-key, each member's value kept as
// its JSON text, in the order given: by name, as an update writes them.
func JSONObject(members []payload.RawMember) Value {
	o := make(object, len(members))
	for i, m := range members {
		o[i] = member{name: m.Name, recorded: leaf{json: m.Value, isJSON: true}}
	}
	return o
}

// JSONList is a key recorded element by element, each element kept as its
// JSON text, in call order.
func JSONList(elements []string) Value {
	l := make(list, len(elements))
	for i, el := range elements {
		l[i] = leaf{json: el, isJSON: true}
	}
	return l
}

// CountedJSON is one member of a counting set: a value's JSON text, and
// how often it was recorded.
type CountedJSON struct {
	JSON  string
	Count int64
}

// CountedValues is a key recorded with AppendUnique; members whose JSON
// is equal count together.
func CountedValues(members []CountedJSON) Value {
	s := &countingSet{}
	for _, m := range members {
		start := len(s.arena)
		s.arena = append(s.arena, m.JSON...)
		s.add(start, m.Count)
	}
	s.settle()
	return s
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
		a.points = append(a.points, attributedPoint[P]{start: start, end: len(a.arena), p: p})
	}
	a.sort()
	return a, nil
}

// distribution points at the members that a histogram and an exponential
// histogram share, for reading either from its stored form.
type distribution struct {
	count          *uint64
	sum, min, max  *payload.Number
	hasMin, hasMax *bool
}

// read reads m into its field; known is false for a member it does not
// hold.
func (d distribution) read(m payload.RawMember, float bool) (known bool, err error) {
	switch m.Name {
	case payload.MemberCount:
		*d.count, err = strconv.ParseUint(m.Value, 10, 64)
	case payload.MemberSum:
		*d.sum, err = parseNumber(m.Value, float)
	case payload.MemberMin:
		*d.min, err = parseNumber(m.Value, float)
		*d.hasMin = true
	case payload.MemberMax:
		*d.max, err = parseNumber(m.Value, float)
		*d.hasMax = true
	default:
		return false, nil
	}
	return true, err
}

func readHistogram(members []payload.RawMember, float bool) (payload.Histogram, error) {
	var h payload.Histogram
	shared := distribution{&h.Count, &h.Sum, &h.Min, &h.Max, &h.HasMin, &h.HasMax}
	for _, m := range members {
		known, err := shared.read(m, float)
		if !known {
			switch m.Name {
			case payload.MemberBounds:
				err = json.Unmarshal([]byte(m.Value), &h.Bounds)
			case payload.MemberBucketCounts:
				err = json.Unmarshal([]byte(m.Value), &h.BucketCounts)
			}
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
	shared := distribution{&h.Count, &h.Sum, &h.Min, &h.Max, &h.HasMin, &h.HasMax}
	for _, m := range members {
		known, err := shared.read(m, float)
		if !known {
			switch m.Name {
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

func parseBool(raw string) (bool, error) { return strconv.ParseBool(raw) }

// IntegersWithin reports whether every integer of v that merging may add
// up, or that AddDropped adds to, is within ±bound.
func IntegersWithin(v Value, bound int64) bool {
	b := intBound(bound)
	switch v := v.(type) {
	case *number:
		return b.number(payload.Number(*v))
	case *countingSet:
		return allWithin(v.members, func(m counted) bool { return b.int(m.count) })
	case *sumPoints:
		return allWithin(v.points, func(p attributedPoint[payload.Number]) bool { return b.number(p.p) })
	case *histograms:
		return allWithin(v.points, func(p attributedPoint[payload.Histogram]) bool { return b.histogram(p.p) })
	case *expHistograms:
		return allWithin(v.points, func(p attributedPoint[payload.ExpHistogram]) bool { return b.expHistogram(p.p) })
	}
	return true
}

func allWithin[T any](items []T, within func(T) bool) bool {
	return !slices.ContainsFunc(items, func(it T) bool { return !within(it) })
}

// intBound is the magnitude that IntegersWithin allows.
type intBound int64

func (b intBound) int(n int64) bool             { return -int64(b) <= n && n <= int64(b) }
func (b intBound) uint(n uint64) bool           { return n <= uint64(b) }
func (b intBound) number(n payload.Number) bool { return n.IsFloat || b.int(n.Int) }

func (b intBound) histogram(h payload.Histogram) bool {
	return b.uint(h.Count) && b.number(h.Sum) && allWithin(h.BucketCounts, b.uint)
}

func (b intBound) expHistogram(h payload.ExpHistogram) bool {
	return b.uint(h.Count) && b.uint(h.ZeroCount) && b.number(h.Sum) &&
		allWithin(h.Positive.Counts, b.uint) && allWithin(h.Negative.Counts, b.uint)
}

func parseInt(raw string) (int64, error) { return strconv.ParseInt(raw, 10, 64) }

// ParseString reads a JSON string, as the stored form and the spool's
// files spell their texts; anything else is an error.
func ParseString(raw string) (string, error) {
	v, err := payload.ParseValue([]byte(raw), payload.ParseOptions{})
	s, ok := v.(string)
	if err == nil && !ok {
		err = fmt.Errorf("%s is not a string", raw)
	}
	return s, err
}
