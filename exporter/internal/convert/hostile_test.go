package convert

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// hostileSets are attribute sets of every type and edge a host can make:
// no attributes, empty names and strings, bytes that are not UTF-8 (two
// sets that differ only there write the same JSON), a large string, every
// slice type, -0, and the protocol's attributes beside ordinary ones.
func hostileSets() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("", ""),
		attribute.String("s", "a\xff"),
		attribute.String("s", "a\xfe"),
		attribute.String("big", strings.Repeat("<&>é", 1<<14)),
		attribute.StringSlice("ss", []string{"", "x\x00y", "\u2028"}),
		attribute.StringSlice("ss", nil),
		attribute.Int64Slice("is", []int64{math.MinInt64, 0, math.MaxInt64}),
		attribute.Float64Slice("fs", []float64{math.Copysign(0, -1), 1e-320, 1e21}),
		attribute.BoolSlice("bs", []bool{true, false}),
		attribute.Float64("f", math.Copysign(0, -1)),
		attribute.Float64("f", 0),
		attribute.Int("i", 1),
		attribute.Float64("i", 1), // writes as the integer does
		attribute.Bool("b", false),
		attribute.String(payload.AttrValue, "v"),
		attribute.String(payload.AttrValueJSON, `{"a":[1,2]}`),
		attribute.String(payload.AttrSubkey, "sub"),
		attribute.Int(payload.AttrIndex, 0),
	}
}

// hostileCollection builds a collection whose points carry sets made of
// hostile attributes, fresh attribute.Set values each round (as every SDK
// collection hands over), in an order that changes from round to round.
func hostileCollection(rng *rand.Rand, round int) *metricdata.ResourceMetrics {
	kvs := hostileSets()
	var sets []attribute.Set
	sets = append(sets, attribute.NewSet()) // no attributes
	for i := range kvs {
		sets = append(sets, attribute.NewSet(kvs[i]))
		j := (i + round) % len(kvs)
		sets = append(sets, attribute.NewSet(kvs[i], kvs[j], attribute.Int("round", round%3)))
	}
	rng.Shuffle(len(sets), func(i, j int) { sets[i], sets[j] = sets[j], sets[i] })
	now := time.Unix(1, 0)
	var ints []metricdata.DataPoint[int64]
	var floats []metricdata.DataPoint[float64]
	var hists []metricdata.HistogramDataPoint[float64]
	var exps []metricdata.ExponentialHistogramDataPoint[int64]
	var sums []metricdata.SummaryDataPoint
	var plain []metricdata.DataPoint[int64]
	for i, s := range sets {
		ints = append(ints, metricdata.DataPoint[int64]{Attributes: s, Value: int64(i), Time: now})
		floats = append(floats, metricdata.DataPoint[float64]{Attributes: s, Value: float64(i) / 3, Time: now})
		hists = append(hists, metricdata.HistogramDataPoint[float64]{Attributes: s, Count: 1, Sum: 2,
			Bounds: []float64{math.Copysign(0, -1), 1}, BucketCounts: []uint64{0, 1, 0}})
		exps = append(exps, metricdata.ExponentialHistogramDataPoint[int64]{Attributes: s, Count: 1, Sum: 1, Scale: 2})
		sums = append(sums, metricdata.SummaryDataPoint{Attributes: s, Count: 1, Sum: 1})
		if !hasProtocolAttr(s) {
			plain = append(plain, metricdata.DataPoint[int64]{Attributes: s, Value: int64(i), Time: now})
		}
	}
	return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
		{Name: "ints", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: ints}},
		{Name: "plain", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: plain}},
		{Name: "floats", Data: metricdata.Gauge[float64]{DataPoints: floats}},
		{Name: "hists", Data: metricdata.Histogram[float64]{Temporality: metricdata.DeltaTemporality, DataPoints: hists}},
		{Name: "exps", Data: metricdata.ExponentialHistogram[int64]{Temporality: metricdata.DeltaTemporality, DataPoints: exps}},
		{Name: "sums", Data: metricdata.Summary{DataPoints: sums}},
	}}}}
}

func hasProtocolAttr(s attribute.Set) bool {
	for it := s.Iter(); it.Next(); {
		if k := it.Attribute().Key; isShapeAttr(k) || isKeyAttr(k) {
			return true
		}
	}
	return false
}

// entriesJSON writes each entry as key=JSON, or key!error.
func entriesJSON(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, en := range entries {
		var w payload.Writer
		if err := en.Value.Write(&w); err != nil {
			out[i] = en.Key + "!" + err.Error()
			continue
		}
		out[i] = en.Key + "=" + string(w.Bytes())
	}
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			g, w := got[i], want[i]
			if len(g) > 300 {
				g = g[:300] + "..."
			}
			if len(w) > 300 {
				w = w[:300] + "..."
			}
			t.Errorf("%s, entry %d:\n got %s\nwant %s", what, i, g, w)
		}
	}
}

// A converter kept from update to update writes hostile sets, of every
// shape, exactly as a new converter does.
func TestHostileSetsWriteWhatAFreshConverterWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 2))
	kept := new(Converter)
	for round := range 8 {
		rm := hostileCollection(rng, round)
		got, gotErrs := Convert(kept, rm, Options{MetricTypes: true})
		want, wantErrs := Convert(new(Converter), rm, Options{MetricTypes: true})
		if fmt.Sprint(gotErrs) != fmt.Sprint(wantErrs) {
			t.Fatalf("round %d: problems %v, want %v", round, gotErrs, wantErrs)
		}
		sameLines(t, fmt.Sprintf("round %d", round), entriesJSON(got), entriesJSON(want))
	}
}

// A set with an attribute JSON cannot carry (NaN) is refused by a kept
// converter every time, as by a new one, and never lends a partial text
// to the next set.
func TestUnwritableSetIsNeverRemembered(t *testing.T) {
	nan := attribute.NewSet(attribute.Float64("f", math.NaN()), attribute.String("z", "after"))
	ok := attribute.NewSet(attribute.String("z", "after"))
	rm := func(sets ...attribute.Set) *metricdata.ResourceMetrics {
		var pts []metricdata.DataPoint[int64]
		for i, s := range sets {
			pts = append(pts, metricdata.DataPoint[int64]{Attributes: s, Value: int64(i + 1)})
		}
		return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
			{Name: "c", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: pts}},
		}}}}
	}
	kept := new(Converter)
	for round := range 3 {
		for _, in := range []*metricdata.ResourceMetrics{rm(nan, ok), rm(ok), rm(ok, nan)} {
			got, gotErrs := Convert(kept, in, Options{})
			want, wantErrs := Convert(new(Converter), in, Options{})
			if len(gotErrs) != len(wantErrs) {
				t.Fatalf("round %d: problems %v, want %v", round, gotErrs, wantErrs)
			}
			sameLines(t, fmt.Sprintf("round %d", round), entriesJSON(got), entriesJSON(want))
		}
	}
}

// Exports that overlap share one Buffers: each takes its own converter
// and body, and writes what a new converter writes.
func TestOverlappingExportsShareBuffers(t *testing.T) {
	var buffers Buffers
	env := Envelope{Instance: "i", Time: time.Unix(5, 0)}
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for round := range 12 {
				rm := hostileCollection(rng, round+g)
				want, _ := Convert(new(Converter), rm, Options{})
				var fresh Buffers
				_, wantBody, _ := fresh.Build(env, want)

				c := buffers.TakeConverter()
				got, _ := Convert(c, rm, Options{})
				_, body, _ := buffers.Build(env, got)
				if string(*body) != string(*wantBody) {
					t.Errorf("goroutine %d, round %d: the body differs from a fresh converter's", g, round)
				}
				buffers.ReturnBody(body)
				buffers.ReturnConverter(c)
			}
		}()
	}
	wg.Wait()
}

// Carried points merge with newer ones that keep the SDK's order (not
// sorted): every pair of equal attributes adds up, none is lost or
// doubled, through merges of merges, also when two sets write the same
// JSON (bytes that are not UTF-8 both become U+FFFD).
func TestMergeOfPointsInSDKOrderLosesNone(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	series := func(i int) attribute.Set {
		switch i {
		case 0:
			return attribute.NewSet(attribute.String("s", "a\xff"))
		case 1:
			return attribute.NewSet(attribute.String("s", "a\xfe"))
		case 2:
			return attribute.NewSet()
		}
		return attribute.NewSet(attribute.Int("i", i), attribute.StringSlice("tags", []string{fmt.Sprint(i % 3)}))
	}
	want := map[string]int64{} // attributes' JSON -> the sum expected
	var carried []Entry
	for round := range 5 {
		var pts []metricdata.DataPoint[int64]
		for i := range 60 {
			if rng.IntN(3) == 0 {
				continue
			}
			v := int64(round*1000 + i)
			pts = append(pts, metricdata.DataPoint[int64]{Attributes: series(i), Value: v})
			want[setJSON(series(i))] += v
		}
		rng.Shuffle(len(pts), func(i, j int) { pts[i], pts[j] = pts[j], pts[i] })
		rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
			{Name: "c", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true, DataPoints: pts}},
		}}}}
		entries, errs := Convert(new(Converter), rm, Options{})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		merged, dropped, unmerged := Merge(entries, carried)
		if dropped != 0 || unmerged != 0 {
			t.Fatalf("round %d: dropped %d, unmerged %d", round, dropped, unmerged)
		}
		carried = carried[:0]
		for _, en := range merged {
			en.Value = en.Value.Detach()
			carried = append(carried, en)
		}
	}
	got, points := map[string]int64{}, map[string]int{}
	sp, ok := carried[0].Value.(*sumPoints)
	if !ok {
		t.Fatalf("merged value %T", carried[0].Value)
	}
	for i := range sp.points {
		got[string(sp.attrsOf(i))] += sp.points[i].p.Int
		points[string(sp.attrsOf(i))]++
	}
	for attrs, n := range points {
		if limit := map[bool]int{true: 2, false: 1}[attrs == setJSON(series(0))]; n > limit {
			t.Errorf("%d points of attributes %s, want at most %d", n, attrs, limit)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merged sums by attributes:\n got %v\nwant %v", got, want)
	}
}

// setJSON is the JSON a new converter writes for s.
func setJSON(s attribute.Set) string {
	c := new(Converter)
	_, _ = c.writeSet(&s, true)
	return string(c.w.Bytes())
}
