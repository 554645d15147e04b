package payload

// The names of the members that every point of a shape repeats, quoted
// and followed by their colon at compile time. Quoting them point by point
// through the JSON library was a seventh of an export's CPU time at 1,000
// points (a profile); written as constants, exports of 1,000 points with
// one or two attributes took 15-27 % less time (BENCHMARKS.md, "What each
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

// member writes one of the quoted constants above: a member's name,
// quoted, with its colon.
func (w *Writer) member(quoted string) {
	w.next()
	w.buf = append(w.buf, quoted...)
	w.named = true
}

// PointAttributes writes a point's attributes member, whose JSON object a
// Writer wrote before (see WrittenJSON).
func (w *Writer) PointAttributes(json []byte) {
	w.member(quotedAttributes)
	w.WrittenJSON(json)
}

// PointValue writes a point's value member.
func (w *Writer) PointValue(n Number) error {
	w.member(quotedValue)
	return w.Number(n)
}
