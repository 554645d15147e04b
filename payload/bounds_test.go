package payload

import (
	"math"
	"testing"
)

// A Writer reuses the JSON of the bounds it wrote last only for bounds of
// the same bits: other values, other lengths, -0 against 0, all written
// afresh.
func TestHistogramBoundsAreWrittenForEachPoint(t *testing.T) {
	cases := [][]float64{
		{1, 2.5, 10},
		{1, 2.5, 10},
		{1, 2.5, 11},
		{1, 2.5},
		{0, 1},
		{math.Copysign(0, -1), 1},
		{},
		{1e21, 5e-324},
	}
	var w Writer
	for _, bounds := range cases {
		var fresh Writer // a Writer that has written nothing before
		h := Histogram{Count: 1, Sum: IntNumber(1), Bounds: bounds, BucketCounts: make([]uint64, len(bounds)+1)}
		for _, wr := range []*Writer{&w, &fresh} {
			wr.Reset(wr.Bytes()[:0])
			wr.BeginObject()
			if err := h.WriteMembers(wr); err != nil {
				t.Fatal(err)
			}
			wr.EndObject()
		}
		if got, want := string(w.Bytes()), string(fresh.Bytes()); got != want {
			t.Errorf("bounds %v:\n got %s\nwant %s", bounds, got, want)
		}
	}
	// A bound JSON cannot carry is refused every time, not remembered.
	for range 2 {
		w.Reset(w.Bytes()[:0])
		w.BeginObject()
		h := Histogram{Bounds: []float64{1, math.NaN()}, BucketCounts: []uint64{0, 0, 0}}
		if err := h.WriteMembers(&w); err == nil {
			t.Fatal("a NaN bound was written")
		}
	}
}
