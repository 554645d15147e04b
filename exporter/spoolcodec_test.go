package exporter

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// Every shape a collection can hold reads back from a spool file as it was
// written: the same key, flags, kind, float-ness and update JSON.
func TestSpoolFileReadsBackWhatWasWritten(t *testing.T) {
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
	e, err := New(WithInstanceID(uuid.New()), WithRuntimeFigures(false), WithMetricTypes(true))
	if err != nil {
		t.Fatal(err)
	}
	entries, problems := e.convert(new(converter), rm)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var w payload.Writer
	meta := spoolMeta{gen: 7, absorbed: []string{"t1", "t2"}, key: "3f0c2a9e-5d41-4b7a-9c1e-2b8f6d0a7e55"}
	if dropped := writeSpool(&w, "abc", meta, entries, DefaultSpoolLimit); dropped != 0 {
		t.Fatalf("%d items left out", dropped)
	}
	instance, backMeta, back, err := readSpool(w.Bytes())
	if backMeta.gen != meta.gen || !slices.Equal(backMeta.absorbed, meta.absorbed) || backMeta.key != meta.key {
		t.Fatalf("read back %+v, wrote %+v", backMeta, meta)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, w.Bytes())
	}
	if instance != "abc" || len(back) != len(entries) {
		t.Fatalf("read instance %q and %d entries, wrote %d", instance, len(back), len(entries))
	}
	for i, want := range entries {
		got := back[i]
		wantKind, wantFloat := spoolKind(want.value)
		gotKind, gotFloat := spoolKind(got.value)
		if got.key != want.key || got.additive != want.additive || got.metricType != want.metricType || gotFloat != wantFloat {
			t.Errorf("%s: read %+v, wrote %+v", want.key, got, want)
		}
		if gotKind != wantKind {
			t.Errorf("%s: read kind %s, wrote %s", want.key, gotKind, wantKind)
		}
		if g, w := numbersOf(got.value), numbersOf(want.value); !slices.Equal(g, w) {
			t.Errorf("%s: read numbers %v, wrote %v", want.key, g, w)
		}
		if g, w := valueJSON(t, got.value), valueJSON(t, want.value); g != w {
			t.Errorf("%s: read %s, wrote %s", want.key, g, w)
		}
	}
}

func valueJSON(t *testing.T, v value) string {
	t.Helper()
	var w payload.Writer
	if err := v.write(&w); err != nil {
		t.Fatal(err)
	}
	return string(w.Bytes())
}

// numbersOf returns the numbers inside v, so that their type is compared
// too: a whole float and an integer write the same JSON.
func numbersOf(v value) []payload.Number {
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

// Exponential histograms and summaries read back from the spool are
// themselves again, so that they merge with newer figures of their key as
// they do within one process (before, they came back as text and the
// newer replaced them).
func TestSpooledExpHistogramsMergeAfterARestart(t *testing.T) {
	rm := func(count uint64, offset int32) *metricdata.ResourceMetrics {
		return &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
			{Name: "exp", Data: metricdata.ExponentialHistogram[float64]{Temporality: metricdata.DeltaTemporality,
				DataPoints: []metricdata.ExponentialHistogramDataPoint[float64]{{Count: count, Sum: float64(count), Scale: 2,
					PositiveBucket: metricdata.ExponentialBucket{Offset: offset, Counts: []uint64{count}}}}}},
		}}}}
	}
	e, err := New(WithInstanceID(uuid.New()), WithRuntimeFigures(false))
	if err != nil {
		t.Fatal(err)
	}
	older, _ := e.convert(new(converter), rm(3, 4))
	var w payload.Writer
	writeSpool(&w, "abc", spoolMeta{}, older, DefaultSpoolLimit)
	_, _, back, err := readSpool(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	newer, _ := e.convert(new(converter), rm(2, 5))
	merged, dropped, unmerged := mergeCarried(newer, back)
	if dropped != 0 || unmerged != 0 {
		t.Fatalf("%d dropped, %d unmerged", dropped, unmerged)
	}
	got := valueJSON(t, merged[0].value)
	const want = `{"count":5,"sum":5,"scale":2,"zero_count":0,"zero_threshold":0,"positive":{"offset":4,"bucket_counts":[3,2]},"negative":{"offset":0,"bucket_counts":[]}}`
	if got != want {
		t.Errorf("merged %s\nwant   %s", got, want)
	}
}

// An update key read from the spool goes into a request header: one that
// is too long or not printable ASCII makes the file unreadable.
func TestSpoolRefusesUpdateKeysThatAreNotHeaderSafe(t *testing.T) {
	for _, key := range []string{strings.Repeat("k", maxUpdateKeyLen+1), "a\r\nX-Evil: 1", "é"} {
		var w payload.Writer
		writeSpool(&w, "abc", spoolMeta{key: key}, nil, DefaultSpoolLimit)
		if _, _, _, err := readSpool(w.Bytes()); err == nil {
			t.Errorf("key %.20q was read back", key)
		}
	}
}
