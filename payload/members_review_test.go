package payload

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"
)

// The shapes as they were written through Name (26e1306), for comparison
// with the quoted constants of members.go.

func (w *Writer) byNameDistribution(count uint64, sum, lo, hi Number, hasLo, hasHi bool) error {
	w.Name(MemberCount)
	w.Uint(count)
	w.Name(MemberSum)
	if err := w.Number(sum); err != nil {
		return err
	}
	if hasLo {
		w.Name(MemberMin)
		if err := w.Number(lo); err != nil {
			return err
		}
	}
	if hasHi {
		w.Name(MemberMax)
		if err := w.Number(hi); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) byNameHistogram(h *Histogram) error {
	if err := w.byNameDistribution(h.Count, h.Sum, h.Min, h.Max, h.HasMin, h.HasMax); err != nil {
		return err
	}
	w.Name(MemberBounds)
	if err := w.floats(h.Bounds); err != nil {
		return err
	}
	w.Name(MemberBucketCounts)
	w.uints(h.BucketCounts)
	return nil
}

func (w *Writer) byNameExpHistogram(h *ExpHistogram) error {
	if err := w.byNameDistribution(h.Count, h.Sum, h.Min, h.Max, h.HasMin, h.HasMax); err != nil {
		return err
	}
	w.Name(MemberScale)
	w.Int(int64(h.Scale))
	w.Name(MemberZeroCount)
	w.Uint(h.ZeroCount)
	w.Name(MemberZeroThresh)
	if err := w.Float(h.ZeroThreshold); err != nil {
		return err
	}
	for _, side := range []struct {
		name string
		b    *ExpBuckets
	}{{MemberPositive, &h.Positive}, {MemberNegative, &h.Negative}} {
		w.Name(side.name)
		w.BeginObject()
		w.Name(MemberOffset)
		w.Int(int64(side.b.Offset))
		w.Name(MemberBucketCounts)
		w.uints(side.b.Counts)
		w.EndObject()
	}
	return nil
}

func (w *Writer) byNameSummary(s *Summary) error {
	w.Name(MemberCount)
	w.Uint(s.Count)
	w.Name(MemberSum)
	if err := w.Float(s.Sum); err != nil {
		return err
	}
	w.Name(MemberQuantiles)
	w.BeginList()
	for _, q := range s.Quantiles {
		w.BeginObject()
		w.Name(MemberQuantile)
		if err := w.Float(q.Quantile); err != nil {
			return err
		}
		w.Name(MemberValue)
		if err := w.Float(q.Value); err != nil {
			return err
		}
		w.EndObject()
	}
	w.EndList()
	return nil
}

// reviewWriters writes the same calls into a Writer through the constants
// (got) and through Name (want).
type reviewWriters struct{ got, want Writer }

func (p *reviewWriters) both(f func(w *Writer)) { f(&p.got); f(&p.want) }

// shape writes one point's members both ways; both must fail alike.
func (p *reviewWriters) shape(t *testing.T, r *rand.Rand) error {
	num := func() Number {
		switch r.Intn(12) {
		case 0:
			return FloatNumber(math.NaN())
		case 1:
			return FloatNumber(math.Inf(1 - 2*r.Intn(2)))
		case 2, 3, 4:
			return IntNumber(r.Int63n(2000) - 1000)
		}
		return FloatNumber(r.NormFloat64() * math.Pow(10, float64(r.Intn(40)-20)))
	}
	float := func() float64 {
		if n := num(); n.IsFloat {
			return n.Float
		}
		return float64(r.Intn(100))
	}
	uints := func() []uint64 {
		us := make([]uint64, r.Intn(4))
		for i := range us {
			us[i] = uint64(r.Int63())
		}
		return us
	}
	var got, want error
	switch r.Intn(5) {
	case 0:
		h := Histogram{Count: uint64(r.Intn(100)), Sum: num(), Min: num(), Max: num(), HasMin: r.Intn(2) == 0, HasMax: r.Intn(2) == 0, BucketCounts: uints()}
		for range r.Intn(4) {
			h.Bounds = append(h.Bounds, float())
		}
		if r.Intn(3) == 0 {
			h.Bounds = []float64{1, 2, 5} // the bounds the Writer remembers
		}
		got, want = h.WriteMembers(&p.got), p.want.byNameHistogram(&h)
	case 1:
		h := ExpHistogram{Count: uint64(r.Intn(100)), Sum: num(), Min: num(), Max: num(), HasMin: r.Intn(2) == 0, HasMax: r.Intn(2) == 0,
			Scale: int32(r.Intn(40) - 20), ZeroCount: uint64(r.Intn(9)), ZeroThreshold: float(),
			Positive: ExpBuckets{Offset: int32(r.Intn(20) - 10), Counts: uints()},
			Negative: ExpBuckets{Offset: int32(r.Intn(20) - 10), Counts: uints()}}
		got, want = h.WriteMembers(&p.got), p.want.byNameExpHistogram(&h)
	case 2:
		s := Summary{Count: uint64(r.Intn(100)), Sum: float()}
		for range r.Intn(4) {
			s.Quantiles = append(s.Quantiles, Quantile{Quantile: float(), Value: float()})
		}
		got, want = s.WriteMembers(&p.got), p.want.byNameSummary(&s)
	case 3:
		n := num()
		got = p.got.PointValue(n)
		p.want.Name(MemberValue)
		want = p.want.Number(n)
	default:
		v, c := fmt.Appendf(nil, `"v%d"`, r.Intn(9)), r.Int63n(1000)-500
		p.got.CountedValue(v, c)
		p.want.BeginObject()
		p.want.Name(MemberValue)
		p.want.WrittenJSON(v)
		p.want.Name(MemberCount)
		p.want.Int(c)
		p.want.EndObject()
	}
	if (got == nil) != (want == nil) {
		t.Fatalf("constants: %v, Name: %v", got, want)
	}
	return got
}

// check compares the bytes and the comma state of the two Writers.
func (p *reviewWriters) check(t *testing.T, seed int64, where string) {
	t.Helper()
	if string(p.got.buf) != string(p.want.buf) || p.got.named != p.want.named || !slices.Equal(p.got.open, p.want.open) {
		t.Fatalf("seed %d, %s:\nconstants %s (named %v, open %v)\nName      %s (named %v, open %v)",
			seed, where, p.got.buf, p.got.named, p.got.open, p.want.buf, p.want.named, p.want.open)
	}
}

// Every shape written with the quoted constants is byte for byte what Name
// wrote, and leaves the Writer in the same state: members before and after
// others, points with and without attributes, and values that fail (NaN,
// infinities) taken back to a Mark by the point, by the member or by the
// key, after which writing goes on.
func TestReviewMembersAsNameWroteThem(t *testing.T) {
	for seed := range int64(2000) {
		r := rand.New(rand.NewSource(seed))
		var p reviewWriters
		p.both(func(w *Writer) { w.BeginObject() })
		for k := range r.Intn(6) {
			key := fmt.Sprint("k", k)
			var km [2]Mark
			km[0], km[1] = p.got.Mark(), p.want.Mark()
			p.both(func(w *Writer) { w.Name(key) })
			var err error
			switch r.Intn(3) {
			case 0: // one bare point, maybe between members of its own
				p.both(func(w *Writer) { w.BeginObject() })
				if r.Intn(2) == 0 {
					p.both(func(w *Writer) { w.Name("before"); w.Int(1) })
				}
				if err = p.shape(t, r); err == nil {
					if r.Intn(2) == 0 {
						p.both(func(w *Writer) { w.Name("after"); w.Bool(true) })
					}
					p.both(func(w *Writer) { w.EndObject() })
				}
			case 1: // a list of points, a failing one taken back alone or with its key
				p.both(func(w *Writer) { w.BeginList() })
				for i := range r.Intn(5) {
					var pm [2]Mark
					pm[0], pm[1] = p.got.Mark(), p.want.Mark()
					p.both(func(w *Writer) { w.BeginObject() })
					if r.Intn(3) > 0 {
						attrs := fmt.Appendf(nil, `{"route":"/%d"}`, i)
						p.got.PointAttributes(attrs)
						p.want.Name(MemberAttributes)
						p.want.WrittenJSON(attrs)
					}
					if err = p.shape(t, r); err != nil {
						if r.Intn(2) == 0 {
							break
						}
						p.got.Rewind(pm[0])
						p.want.Rewind(pm[1])
						p.check(t, seed, "after a point's rewind")
						err = nil
						continue
					}
					p.both(func(w *Writer) { w.EndObject() })
				}
				if err == nil {
					p.both(func(w *Writer) { w.EndList() })
				}
			default: // shapes one after another in one object, each failing one taken back
				// alone (not always valid JSON: only the two Writers are compared)
				p.both(func(w *Writer) { w.BeginObject() })
				for range r.Intn(5) {
					var mm [2]Mark
					mm[0], mm[1] = p.got.Mark(), p.want.Mark()
					if p.shape(t, r) != nil {
						p.got.Rewind(mm[0])
						p.want.Rewind(mm[1])
						p.check(t, seed, "after a member's rewind")
					}
				}
				p.both(func(w *Writer) { w.EndObject() })
			}
			if err != nil {
				p.got.Rewind(km[0])
				p.want.Rewind(km[1])
			}
			p.check(t, seed, "after key "+key)
		}
		p.both(func(w *Writer) { w.EndObject() })
		p.check(t, seed, "at the end")
	}
}
