package convert

import (
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// Every shape a collection can hold reads back from its stored form as it
// was written: the same key, flags, kind, float-ness and update JSON.
func TestStoredEntriesReadBackAsWritten(t *testing.T) {
	attrs := attribute.NewSet(attribute.String("route", `/a "b"`), attribute.Int("code", 200))
	now := time.Now()
	rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
		{Name: "float_sum", Data: metricdata.Sum[float64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true,
			DataPoints: []metricdata.DataPoint[float64]{{Value: 3, Time: now}}}},
		{Name: "float_points", Data: metricdata.Sum[float64]{Temporality: metricdata.DeltaTemporality,
			DataPoints: []metricdata.DataPoint[float64]{{Attributes: attrs, Value: 2, Time: now}}}},
		{Name: "int_points", Data: metricdata.Gauge[int64]{
			DataPoints: []metricdata.DataPoint[int64]{{Attributes: attrs, Value: -4, Time: now}}}},
		{Name: "set", Data: metricdata.Sum[int64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true,
			DataPoints: []metricdata.DataPoint[int64]{
				{Attributes: attribute.NewSet(attribute.String(payload.AttrValue, "a")), Value: 2},
				{Attributes: attribute.NewSet(attribute.String(payload.AttrValueJSON, `{"k":[1,2]}`)), Value: 1},
			}}},
		{Name: "nested", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
			{Attributes: attribute.NewSet(attribute.String(payload.AttrSubkey, "x"), attribute.String(payload.AttrValueJSON, `[true,null]`)), Value: 1},
			{Attributes: attribute.NewSet(attribute.String(payload.AttrSubkey, "y")), Value: 7},
		}}},
		{Name: "list", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
			{Attributes: attribute.NewSet(attribute.Int(payload.AttrIndex, 0), attribute.String(payload.AttrValue, "é")), Value: 1},
		}}},
		{Name: "value", Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
			{Attributes: attribute.NewSet(attribute.String(payload.AttrValue, "v1.2")), Value: 1},
		}}},
		{Name: "latency", Data: metricdata.Histogram[float64]{Temporality: metricdata.DeltaTemporality,
			DataPoints: []metricdata.HistogramDataPoint[float64]{{Attributes: attrs, Count: 3, Sum: 4.5,
				Bounds: []float64{1, 2.5}, BucketCounts: []uint64{1, 1, 1}, Min: metricdata.NewExtrema(0.5), Max: metricdata.NewExtrema(3.0)}}}},
		{Name: "sizes", Data: metricdata.Histogram[int64]{Temporality: metricdata.DeltaTemporality,
			DataPoints: []metricdata.HistogramDataPoint[int64]{{Count: 1, Sum: 9, Bounds: []float64{10}, BucketCounts: []uint64{1, 0}}}}},
		{Name: "exp", Data: metricdata.ExponentialHistogram[float64]{Temporality: metricdata.DeltaTemporality,
			DataPoints: []metricdata.ExponentialHistogramDataPoint[float64]{{Count: 2, Sum: 3, Scale: 1, ZeroCount: 1,
				PositiveBucket: metricdata.ExponentialBucket{Offset: 1, Counts: []uint64{1}}}}}},
		{Name: "summary", Data: metricdata.Summary{DataPoints: []metricdata.SummaryDataPoint{{Count: 2, Sum: 3,
			QuantileValues: []metricdata.QuantileValue{{Quantile: 0.5, Value: 1.5}}}}}},
	}}}}
	entries, problems := Convert(new(Converter), rm, Options{MetricTypes: true})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	back := storedRoundTrip(t, entries)
	for i, want := range entries {
		got := back[i]
		wantKind, wantFloat := storedKind(want.Value)
		gotKind, gotFloat := storedKind(got.Value)
		if got.Key != want.Key || got.Additive != want.Additive || got.MetricType != want.MetricType || gotFloat != wantFloat {
			t.Errorf("%s: read %+v, wrote %+v", want.Key, got, want)
		}
		if gotKind != wantKind {
			t.Errorf("%s: read kind %s, wrote %s", want.Key, gotKind, wantKind)
		}
		if g, w := numbersOf(got.Value), numbersOf(want.Value); !slices.Equal(g, w) {
			t.Errorf("%s: read numbers %v, wrote %v", want.Key, g, w)
		}
		if g, w := valueJSON(t, got.Value), valueJSON(t, want.Value); g != w {
			t.Errorf("%s: read %s, wrote %s", want.Key, g, w)
		}
	}
}

// storedRoundTrip writes entries in their stored form and reads them back.
func storedRoundTrip(t *testing.T, entries []Entry) []Entry {
	t.Helper()
	back := make([]Entry, 0, len(entries))
	for _, en := range entries {
		var w payload.Writer
		if err := WriteStored(&w, en); err != nil {
			t.Fatal(err)
		}
		got, err := ReadStored(string(w.Bytes()))
		if err != nil {
			t.Fatalf("%v\n%s", err, w.Bytes())
		}
		back = append(back, got)
	}
	return back
}

func valueJSON(t *testing.T, v Value) string {
	t.Helper()
	var w payload.Writer
	if err := v.Write(&w); err != nil {
		t.Fatal(err)
	}
	return string(w.Bytes())
}

// numbersOf returns the numbers inside v, so that their type is compared
// too: a whole float and an integer write the same JSON.
func numbersOf(v Value) []payload.Number {
	switch x := v.(type) {
	case *number:
		return []payload.Number{payload.Number(*x)}
	case *sumPoints:
		var out []payload.Number
		for _, p := range x.points {
			out = append(out, p.p)
		}
		return out
	case *histograms:
		var out []payload.Number
		for _, p := range x.points {
			out = append(out, p.p.Sum, p.p.Min, p.p.Max)
		}
		return out
	case *expHistograms:
		var out []payload.Number
		for _, p := range x.points {
			out = append(out, p.p.Sum)
			if p.p.HasMin {
				out = append(out, p.p.Min)
			}
			if p.p.HasMax {
				out = append(out, p.p.Max)
			}
		}
		return out
	}
	return nil
}

// Exponential histograms and summaries read back from their stored form are
// themselves again, so that they merge with newer figures of their key as
// they do within one process (before, they came back as text and the
// newer replaced them).
func TestStoredExpHistogramsMergeAfterARestart(t *testing.T) {
	rm := func(count uint64, offset int32) *metricdata.ResourceMetrics {
		return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
			{Name: "exp", Data: metricdata.ExponentialHistogram[float64]{Temporality: metricdata.DeltaTemporality,
				DataPoints: []metricdata.ExponentialHistogramDataPoint[float64]{{Count: count, Sum: float64(count), Scale: 2,
					PositiveBucket: metricdata.ExponentialBucket{Offset: offset, Counts: []uint64{count}}}}}},
		}}}}
	}
	older, _ := Convert(new(Converter), rm(3, 4), Options{})
	back := storedRoundTrip(t, older)
	newer, _ := Convert(new(Converter), rm(2, 5), Options{})
	merged, dropped, unmerged := Merge(newer, back)
	if dropped != 0 || unmerged != 0 {
		t.Fatalf("%d dropped, %d unmerged", dropped, unmerged)
	}
	got := valueJSON(t, merged[0].Value)
	const want = `{"count":5,"sum":5,"scale":2,"zero_count":0,"zero_threshold":0,"positive":{"offset":4,"bucket_counts":[3,2]},"negative":{"offset":0,"bucket_counts":[]}}`
	if got != want {
		t.Errorf("merged %s\nwant   %s", got, want)
	}
}
