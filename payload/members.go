package payload

// The names of the members that every point of a shape repeats, quoted
// and followed by their colon at compile time. Quoting them point by point
// through the JSON library was 11-14 % of Export's CPU time at 1,000
// points in profiles; the before/after is in BENCHMARKS.md ("What each
// piece of the conversion buys"). Each constant is only the name between
// quotes, which holds because the names need no escaping:
// TestMemberNamesNeedNoQuoting checks each one against Name.
const (
	quotedAttributes   = `"` + MemberAttributes + `":`
	quotedValue        = `"` + MemberValue + `":`
	quotedCount        = `"` + MemberCount + `":`
	quotedSum          = `"` + MemberSum + `":`
	quotedMin          = `"` + MemberMin + `":`
	quotedMax          = `"` + MemberMax + `":`
	quotedBounds       = `"` + MemberBounds + `":`
	quotedBucketCounts = `"` + MemberBucketCounts + `":`
	quotedScale        = `"` + MemberScale + `":`
	quotedZeroCount    = `"` + MemberZeroCount + `":`
	quotedZeroThresh   = `"` + MemberZeroThresh + `":`
	quotedPositive     = `"` + MemberPositive + `":`
	quotedNegative     = `"` + MemberNegative + `":`
	quotedOffset       = `"` + MemberOffset + `":`
	quotedQuantiles    = `"` + MemberQuantiles + `":`
	quotedQuantile     = `"` + MemberQuantile + `":`
)

// The start of a counting-set element and the separator before its count
// (CountedValue), joined at compile time too.
const (
	openCounted = "{" + quotedValue
	beforeCount = "," + quotedCount
)

// member writes one of the quoted constants above: a member's name,
// quoted, with its colon.
func (w *Writer) member(quoted string) {
	w.next()
	w.buf = append(w.buf, quoted...)
	w.named = true
}

// PointAttributes writes a point's attributes member. json must be a
// non-empty JSON object that a Writer wrote before: like WrittenJSON, it
// is not checked again.
func (w *Writer) PointAttributes(json []byte) {
	w.member(quotedAttributes)
	w.WrittenJSON(json)
}

// PointValue writes a point's value member. A NaN or an infinity is an
// error, with the member's name already written: the caller rewinds to a
// Mark taken before, as it does for the rest of the point.
func (w *Writer) PointValue(n Number) error {
	w.member(quotedValue)
	return w.Number(n)
}
