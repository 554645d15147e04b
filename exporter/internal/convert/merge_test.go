package convert

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// shapeOf converts one metric's data as an update would, detached.
func shapeOf(t *testing.T, agg metricdata.Aggregation) Value {
	t.Helper()
	v, err := new(Converter).shape(agg)
	if err != nil {
		t.Fatal(err)
	}
	return v.Detach()
}

func mustMerge(t *testing.T, newer, older Value, additive bool) Value {
	t.Helper()
	merged, lost, ok := newer.mergeOlder(older, additive)
	if !ok || lost != 0 {
		t.Fatalf("mergeOlder = (%v, lost %d, ok %v), want a merge that loses nothing", merged, lost, ok)
	}
	return merged
}

// expHistogramOf records values into an exponential histogram of the SDK
// (max 160 buckets, scale 20, as by default) and returns its one point.
func expHistogramOf(t *testing.T, values ...float64) metricdata.ExponentialHistogram[float64] {
	t.Helper()
	r := sdkmetric.NewManualReader(sdkmetric.WithAggregationSelector(func(sdkmetric.InstrumentKind) sdkmetric.Aggregation {
		return sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}
	}))
	h, err := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r)).Meter("m").Float64Histogram("h")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		h.Record(context.Background(), v)
	}
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm.ScopeMetrics[0].Metrics[0].Data.(metricdata.ExponentialHistogram[float64])
}

func onlyExpPoint(t *testing.T, v Value) payload.ExpHistogram {
	t.Helper()
	h, ok := v.(*expHistograms)
	if !ok || len(h.points) != 1 {
		t.Fatalf("got %#v, want one exponential histogram point", v)
	}
	return h.points[0].p
}

// TestExpHistogramsMergeAsOneRecordingOfBoth merges the SDK's histograms of
// two sets of figures, at scales far apart, and expects the histogram the
// SDK makes of both sets recorded into one.
func TestExpHistogramsMergeAsOneRecordingOfBoth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 40 {
		var a, b []float64
		for range 1 + rng.IntN(200) {
			a = append(a, (rng.Float64()-0.2)*math.Pow(10, float64(rng.IntN(3))))
		}
		for range 1 + rng.IntN(200) {
			b = append(b, (rng.Float64()-0.3)*math.Pow(10, float64(rng.IntN(9)-3)))
		}
		if round%4 == 0 {
			b = []float64{1.0001, 1.0002} // a fine scale against a coarse one
		}
		if round%4 == 1 {
			a = []float64{0, 0, 5} // zero counts
		}
		older, newer := expHistogramOf(t, a...), expHistogramOf(t, b...)
		want := onlyExpPoint(t, shapeOf(t, expHistogramOf(t, append(slices.Clone(a), b...)...)))
		got := onlyExpPoint(t, mustMerge(t, shapeOf(t, newer), shapeOf(t, older), false))
		if got.Scale != want.Scale || got.Count != want.Count || got.ZeroCount != want.ZeroCount ||
			!slices.Equal(got.Positive.Counts, want.Positive.Counts) || got.Positive.Offset != want.Positive.Offset ||
			!slices.Equal(got.Negative.Counts, want.Negative.Counts) || got.Negative.Offset != want.Negative.Offset ||
			got.Min != want.Min || got.Max != want.Max || math.Abs(got.Sum.Float-want.Sum.Float) > 1e-9*math.Abs(want.Sum.Float) {
			t.Fatalf("round %d: merged\n%+v\nwant\n%+v", round, got, want)
		}
	}
}

func TestExpHistogramsMergeAcrossScales(t *testing.T) {
	o := payload.ExpHistogram{Count: 10, Sum: payload.IntNumber(4), Scale: 1,
		Positive: payload.ExpBuckets{Offset: -3, Counts: []uint64{1, 2, 3, 4}},
		Min:      payload.IntNumber(-1), HasMin: true, Max: payload.IntNumber(3), HasMax: true}
	n := payload.ExpHistogram{Count: 6, Sum: payload.FloatNumber(0.5), Scale: 0, ZeroCount: 1,
		Positive: payload.ExpBuckets{Offset: 0, Counts: []uint64{5}},
		Negative: payload.ExpBuckets{Offset: 2, Counts: []uint64{7}},
		Max:      payload.FloatNumber(9.5), HasMax: true}
	got := addExpHistograms(o, n)
	// Indexes -3..0 at scale 1 are -2, -1, -1, 0 at scale 0.
	want := payload.ExpHistogram{Count: 16, Sum: payload.FloatNumber(4.5), Scale: 0, ZeroCount: 1,
		Positive: payload.ExpBuckets{Offset: -2, Counts: []uint64{1, 5, 9}},
		Negative: payload.ExpBuckets{Offset: 2, Counts: []uint64{7}},
		Min:      payload.IntNumber(-1), HasMin: true, Max: payload.FloatNumber(9.5), HasMax: true}
	if !expEqual(got, want) {
		t.Fatalf("merged\n%+v\nwant\n%+v", got, want)
	}
	// Both sides at a fine scale, far apart: bounded, nothing lost.
	far := addExpHistograms(
		payload.ExpHistogram{Count: 1, Scale: 20, Positive: payload.ExpBuckets{Offset: 0, Counts: []uint64{1}}},
		payload.ExpHistogram{Count: 2, Scale: 20, Positive: payload.ExpBuckets{Offset: 1 << 30, Counts: []uint64{2}}})
	if n := len(far.Positive.Counts); n > expMaxBuckets || n == 0 {
		t.Fatalf("%d buckets, want at most %d", n, expMaxBuckets)
	}
	var total uint64
	for _, c := range far.Positive.Counts {
		total += c
	}
	if total != 3 || far.Count != 3 {
		t.Fatalf("far apart: %d in buckets, count %d, want 3", total, far.Count)
	}
}

func TestExpHistogramsMergeTakeTheLargerZeroThreshold(t *testing.T) {
	// Scale 0: buckets -2, -1, 0 hold (0.25, 0.5], (0.5, 1], (1, 2].
	o := payload.ExpHistogram{Count: 3, Positive: payload.ExpBuckets{Offset: -2, Counts: []uint64{1, 1, 1}}}
	n := payload.ExpHistogram{Count: 1, ZeroCount: 1, ZeroThreshold: 0.5}
	got := addExpHistograms(o, n)
	want := payload.ExpHistogram{Count: 4, ZeroCount: 2, ZeroThreshold: 0.5, Positive: payload.ExpBuckets{Offset: -1, Counts: []uint64{1, 1}}}
	if !expEqual(got, want) {
		t.Fatalf("merged\n%+v\nwant\n%+v", got, want)
	}
}

func expEqual(a, b payload.ExpHistogram) bool {
	return a.Count == b.Count && a.Sum == b.Sum && a.Scale == b.Scale && a.ZeroCount == b.ZeroCount && a.ZeroThreshold == b.ZeroThreshold &&
		a.Min == b.Min && a.HasMin == b.HasMin && a.Max == b.Max && a.HasMax == b.HasMax &&
		a.Positive.Offset == b.Positive.Offset && slices.Equal(a.Positive.Counts, b.Positive.Counts) &&
		a.Negative.Offset == b.Negative.Offset && slices.Equal(a.Negative.Counts, b.Negative.Counts)
}

func TestHistogramsOfOtherBoundsAreRebucketed(t *testing.T) {
	older := shapeOf(t, metricdata.Histogram[int64]{Temporality: metricdata.DeltaTemporality, DataPoints: []metricdata.HistogramDataPoint[int64]{{
		Count: 10, Sum: 40, Bounds: []float64{1, 5, 10}, BucketCounts: []uint64{1, 2, 3, 4},
		Min: metricdata.NewExtrema[int64](1), Max: metricdata.NewExtrema[int64](12),
	}}})
	newer := shapeOf(t, metricdata.Histogram[float64]{Temporality: metricdata.DeltaTemporality, DataPoints: []metricdata.HistogramDataPoint[float64]{{
		Count: 60, Sum: 0.5, Bounds: []float64{2, 10}, BucketCounts: []uint64{10, 20, 30},
		Min: metricdata.NewExtrema(0.25), Max: metricdata.NewExtrema(11.0),
	}}})
	got := mustMerge(t, newer, older, true).(*histograms).points[0].p
	// Older buckets by upper bound: 1 -> (..2], 5 -> (2, 10], 10 -> (2, 10], +Inf -> (10, ..).
	if !slices.Equal(got.BucketCounts, []uint64{11, 25, 34}) || !slices.Equal(got.Bounds, []float64{2, 10}) {
		t.Errorf("buckets %v over %v, want [11 25 34] over [2 10]", got.BucketCounts, got.Bounds)
	}
	if got.Count != 70 || got.Sum != payload.FloatNumber(40.5) {
		t.Errorf("count %d sum %+v, want 70 and 40.5 (a float)", got.Count, got.Sum)
	}
	if got.Min != payload.FloatNumber(0.25) || got.Max != payload.FloatNumber(12) {
		t.Errorf("min %+v max %+v, want 0.25 and 12 (floats, as the sum)", got.Min, got.Max)
	}
	// Equal bounds add bucket by bucket.
	same := mustMerge(t, newer, newer, true).(*histograms).points[0].p
	if !slices.Equal(same.BucketCounts, []uint64{20, 40, 60}) || same.Count != 120 {
		t.Errorf("equal bounds: %v, count %d", same.BucketCounts, same.Count)
	}
}

func TestIntAndFloatSumsAddUpAsFloat(t *testing.T) {
	older := shapeOf(t, metricdata.Sum[int64]{DataPoints: []metricdata.DataPoint[int64]{{Value: 3}}})
	newer := shapeOf(t, metricdata.Sum[float64]{DataPoints: []metricdata.DataPoint[float64]{{Value: 0.5}}})
	if got := *mustMerge(t, newer, older, true).(*number); got != number(payload.FloatNumber(3.5)) {
		t.Errorf("number: %+v, want 3.5", got)
	}
	a := attribute.String("a", "x")
	olderPts := shapeOf(t, metricdata.Sum[int64]{DataPoints: []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(a), Value: 3}, {Attributes: attribute.NewSet(attribute.String("a", "y")), Value: 4}}})
	newerPts := shapeOf(t, metricdata.Sum[float64]{DataPoints: []metricdata.DataPoint[float64]{
		{Attributes: attribute.NewSet(a), Value: 0.25}, {Attributes: attribute.NewSet(attribute.String("a", "z")), Value: 1}}})
	got := mustMerge(t, newerPts, olderPts, true).(*sumPoints)
	// All of one key's points become floats, as the spool keeps them.
	want := map[string]payload.Number{`{"a":"x"}`: payload.FloatNumber(3.25), `{"a":"y"}`: payload.FloatNumber(4), `{"a":"z"}`: payload.FloatNumber(1)}
	checkPoints(t, got, want)
}

func checkPoints(t *testing.T, got *sumPoints, want map[string]payload.Number) {
	t.Helper()
	if len(got.points) != len(want) {
		t.Fatalf("%d points, want %d", len(got.points), len(want))
	}
	for i := range got.points {
		if w, ok := want[string(got.attrsOf(i))]; !ok || got.points[i].p != w {
			t.Errorf("point %s = %+v, want %+v", got.attrsOf(i), got.points[i].p, w)
		}
	}
}

// A counter recorded without attributes, then with, adds up: the number
// is the point without attributes.
func TestNumberAndPointsOfOneKeyMerge(t *testing.T) {
	bare := shapeOf(t, metricdata.Sum[int64]{DataPoints: []metricdata.DataPoint[int64]{{Value: 5}}})
	pts := shapeOf(t, metricdata.Sum[int64]{DataPoints: []metricdata.DataPoint[int64]{
		{Value: 2}, {Attributes: attribute.NewSet(attribute.Int("n", 1)), Value: 3}}})
	want := map[string]payload.Number{``: payload.IntNumber(7), `{"n":1}`: payload.IntNumber(3)}
	checkPoints(t, mustMerge(t, pts, bare, true).(*sumPoints), want)
	checkPoints(t, mustMerge(t, bare, pts, true).(*sumPoints), want)
}

// A gauge keeps the newest point of each attribute set, and the points of
// sets the newer collection did not see.
func TestGaugePointsKeepTheNewestOfEachSet(t *testing.T) {
	x, y := attribute.NewSet(attribute.String("a", "x")), attribute.NewSet(attribute.String("a", "y"))
	older := shapeOf(t, metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Attributes: x, Value: 1}, {Attributes: y, Value: 2}}})
	newer := shapeOf(t, metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{{Attributes: x, Value: 10}, {Value: 3}}})
	checkPoints(t, mustMerge(t, newer, older, false).(*sumPoints),
		map[string]payload.Number{`{"a":"x"}`: payload.IntNumber(10), `{"a":"y"}`: payload.IntNumber(2), ``: payload.IntNumber(3)})
}

func TestSubkeyedSumsAddUp(t *testing.T) {
	sub := func(s string, v int64) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(attribute.String(payload.AttrSubkey, s)), Value: v}
	}
	older := shapeOf(t, metricdata.Sum[int64]{DataPoints: []metricdata.DataPoint[int64]{sub("a", 1), sub("b", 2)}})
	newer := shapeOf(t, metricdata.Sum[int64]{DataPoints: []metricdata.DataPoint[int64]{sub("b", 5), sub("c", 7)}})
	got := mustMerge(t, newer, older, true).(object)
	want := object{{name: "a", num: payload.IntNumber(1), isNumber: true}, {name: "b", num: payload.IntNumber(7), isNumber: true}, {name: "c", num: payload.IntNumber(7), isNumber: true}}
	if !slices.Equal(got, want) {
		t.Errorf("sum: %+v, want %+v", got, want)
	}
	// A gauge's members keep the newest.
	if got := mustMerge(t, newer, older, false).(object); got[1].num != payload.IntNumber(5) {
		t.Errorf("gauge: member b = %+v, want 5", got[1].num)
	}
}

func summaryOf(count uint64, sets ...attribute.Set) metricdata.Summary {
	var s metricdata.Summary
	for _, set := range sets {
		s.DataPoints = append(s.DataPoints, metricdata.SummaryDataPoint{Attributes: set, Count: count, Sum: float64(count),
			QuantileValues: []metricdata.QuantileValue{{Quantile: 0.5, Value: float64(count)}}})
	}
	return s
}

// Summaries of one attribute set cannot merge: the older is lost, and
// counted so (the exporter counts it as dropped).
func TestUnmergeableSummariesAreCountedAsDropped(t *testing.T) {
	x, y := attribute.NewSet(attribute.String("a", "x")), attribute.NewSet(attribute.String("a", "y"))
	merged, lost, ok := shapeOf(t, summaryOf(2, x)).mergeOlder(shapeOf(t, summaryOf(1, x, y)), false)
	if !ok || lost != 1 {
		t.Fatalf("lost %d ok %v, want 1 and true", lost, ok)
	}
	s := merged.(*summaries)
	if len(s.points) != 2 || s.points[0].p.Count != 2 || s.points[1].p.Count != 1 {
		t.Fatalf("points %+v, want the newer x and the older y", s.points)
	}

}

// A sum whose shape changed (a counting set, then points) cannot merge:
// the older is counted as dropped.
func TestAdditiveFiguresOfAnotherShapeAreCountedAsDropped(t *testing.T) {
	set := shapeOf(t, metricdata.Sum[int64]{DataPoints: []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String(payload.AttrValue, "v")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String(payload.AttrValue, "w")), Value: 1}}})
	pts := shapeOf(t, metricdata.Sum[int64]{DataPoints: []metricdata.DataPoint[int64]{{Attributes: attribute.NewSet(attribute.Int("n", 1)), Value: 1}}})
	_, dropped, unmerged := Merge([]Entry{{Key: "k", Value: pts, Additive: true}}, []Entry{{Key: "k", Value: set, Additive: true}})
	if dropped != 0 || unmerged != 2 {
		t.Errorf("dropped %d unmerged %d, want 0 and 2", dropped, unmerged)
	}
	// A gauge replaced by design is not counted.
	_, dropped, unmerged = Merge([]Entry{{Key: "k", Value: pts}}, []Entry{{Key: "k", Value: set}})
	if dropped != 0 || unmerged != 0 {
		t.Errorf("gauge: dropped %d unmerged %d, want 0 and 0", dropped, unmerged)
	}
}
