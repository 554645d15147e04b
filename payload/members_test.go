package payload

import "testing"

// The quoted constants must be exactly what Name writes for their member,
// or the writer would put out names the decoder does not know.
func TestMemberNamesNeedNoQuoting(t *testing.T) {
	for name, named := range map[string]string{
		MemberAttributes: quotedAttributes, MemberValue: quotedValue,
		MemberCount: quotedCount, MemberSum: quotedSum, MemberMin: quotedMin, MemberMax: quotedMax,
		MemberBounds: quotedBounds, MemberBucketCounts: quotedBucketCounts,
		MemberScale: quotedScale, MemberZeroCount: quotedZeroCount, MemberZeroThresh: quotedZeroThresh,
		MemberPositive: quotedPositive, MemberNegative: quotedNegative, MemberOffset: quotedOffset,
		MemberQuantiles: quotedQuantiles, MemberQuantile: quotedQuantile,
	} {
		var byName, byConstant Writer
		byName.BeginObject()
		byName.Name(name)
		byConstant.BeginObject()
		byConstant.member(named)
		if got, want := string(byConstant.Bytes()), string(byName.Bytes()); got != want {
			t.Errorf("member %q is written %s, Name writes %s", name, got, want)
		}
	}
}

// A point's members after another member get their comma, as Name's do.
func TestPointMembersFollowOthers(t *testing.T) {
	var w Writer
	w.BeginObject()
	w.PointAttributes([]byte(`{"route":"/a"}`))
	if err := w.PointValue(IntNumber(3)); err != nil {
		t.Fatal(err)
	}
	w.EndObject()
	if got, want := string(w.Bytes()), `{"attributes":{"route":"/a"},"value":3}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
