package payload

import (
	"math"
	"math/rand/v2"
	"testing"
)

// writeHistogram writes h as one object into w from its current state,
// rewinding it whole when it cannot be written.
func writeHistogram(w *Writer, h Histogram) error {
	m := w.Mark()
	w.BeginObject()
	if err := h.WriteMembers(w); err != nil {
		w.Rewind(m)
		return err
	}
	w.EndObject()
	return nil
}

// A Writer that wrote many histograms in a list, some refused halfway
// (NaN or infinite sums or bounds, rewound), bounds changed in place in
// the caller's slice, -0 and 0 in any position, tiny and huge values,
// writes each one as a Writer that wrote nothing before, and the list as
// a whole is the concatenation of those.
func TestHostileBoundsWriteAsAFreshWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	pool := []float64{0, math.Copysign(0, -1), 1, 2.5, 5e-324, -5e-324, 1e21, 1e-7, math.MaxFloat64, math.Inf(1), math.NaN()}
	shared := make([]float64, 3) // changed in place between histograms
	var w Writer
	w.Reset(nil)
	w.BeginList()
	var want []byte
	for i := range 400 {
		var bounds []float64
		switch rng.IntN(3) {
		case 0:
			bounds = shared
		case 1:
			bounds = make([]float64, rng.IntN(4))
		default:
			bounds = shared[:rng.IntN(len(shared)+1)]
		}
		for j := range bounds {
			if rng.IntN(3) == 0 {
				bounds[j] = pool[rng.IntN(len(pool))]
			}
		}
		h := Histogram{Count: uint64(i), Sum: FloatNumber(1), Bounds: bounds, BucketCounts: make([]uint64, len(bounds)+1)}
		if rng.IntN(10) == 0 {
			h.Sum = FloatNumber(math.NaN()) // refused before the bounds
		}
		var fresh Writer
		freshErr := writeHistogram(&fresh, h)
		if err := writeHistogram(&w, h); (err == nil) != (freshErr == nil) {
			t.Fatalf("histogram %d (bounds %v): error %v, a fresh Writer's %v", i, bounds, err, freshErr)
		}
		if freshErr == nil {
			if len(want) > 0 {
				want = append(want, ',')
			}
			want = append(want, fresh.Bytes()...)
		}
	}
	w.EndList()
	if got, want := string(w.Bytes()), "["+string(want)+"]"; got != want {
		t.Errorf("list differs from fresh Writers':\n got %s\nwant %s", got, want)
	}
}
