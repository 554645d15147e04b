package convert

import "go.opentelemetry.io/otel/attribute"

// setTexts remembers the JSON of the attribute sets met in the last two
// conversions. Each collection hands over new attribute.Set values, but a
// program's series mostly stay the same from one update to the next, and
// reading a set (reflection in the SDK) and writing its JSON is the
// largest part of converting a point. A set is found by its Distinct and
// then compared whole (Set.Equals), so a hash collision never gives a
// point another set's attributes. Sets not met for a whole conversion are
// forgotten, which bounds the memory to the series of two updates.
type setTexts struct {
	cur, prev setGeneration
}

type setGeneration struct {
	sets map[attribute.Distinct]setText
	text []byte // the JSON of every set, back to back
}

// setText is where a set's JSON lies in its generation's text; protocol
// is true for a set holding one of the protocol's attributes.
type setText struct {
	set        attribute.Set
	start, end int
	protocol   bool
}

// next starts a conversion: what the one before last met is forgotten.
func (t *setTexts) next() {
	t.cur, t.prev = t.prev, t.cur
	clear(t.cur.sets)
	t.cur.text = t.cur.text[:0]
}

// find returns the JSON of set, when one of the last two conversions met
// it; found is false otherwise.
func (t *setTexts) find(set *attribute.Set) (json []byte, protocol, found bool) {
	key := set.Equivalent()
	if st, ok := t.cur.sets[key]; ok && st.set.Equals(set) {
		return t.cur.text[st.start:st.end], st.protocol, true
	}
	st, ok := t.prev.sets[key]
	if !ok || !st.set.Equals(set) {
		return nil, false, false
	}
	json = t.prev.text[st.start:st.end]
	t.add(set, json, st.protocol)
	return json, st.protocol, true
}

// add remembers set's JSON for this conversion and the next. A set whose
// Distinct is taken by another set is not remembered.
func (t *setTexts) add(set *attribute.Set, json []byte, protocol bool) {
	key := set.Equivalent()
	if st, ok := t.cur.sets[key]; ok && !st.set.Equals(set) {
		return
	}
	if t.cur.sets == nil {
		t.cur.sets = make(map[attribute.Distinct]setText)
	}
	start := len(t.cur.text)
	t.cur.text = append(t.cur.text, json...)
	t.cur.sets[key] = setText{set: *set, start: start, end: len(t.cur.text), protocol: protocol}
}
