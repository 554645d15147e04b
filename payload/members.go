package payload

// The names of the members that every point of a shape repeats, quoted
// and followed by their colon at compile time. Quoting them point by point
// through the JSON library took about 15 ns a name, three names a point
// on average; a constant is appended in 2 to 3 ns (BENCHMARKS.md). Each
// is only the member's name between quotes, which holds because the names
// need no escaping: TestMemberNamesNeedNoQuoting checks each one against
// Name.
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
