package spool

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/payload"
)

// A spool file reads back what it says of itself, and its entries in
// their stored form (convert.ReadStored), whose round trip of every shape
// convert's tests check.
func TestSpoolFileReadsBackWhatWasWritten(t *testing.T) {
	attrs := attribute.NewSet(attribute.String("route", `/a "b"`))
	rm := &metricdata.ResourceMetrics{ScopeMetrics: []metricdata.ScopeMetrics{{Metrics: []metricdata.Metrics{
		{Name: "float_sum", Data: metricdata.Sum[float64]{Temporality: metricdata.DeltaTemporality, IsMonotonic: true,
			DataPoints: []metricdata.DataPoint[float64]{{Value: 3, Time: time.Now()}}}},
		{Name: "int_points", Data: metricdata.Gauge[int64]{
			DataPoints: []metricdata.DataPoint[int64]{{Attributes: attrs, Value: -4}}}},
	}}}}
	entries, problems := convert.Convert(new(convert.Converter), rm, convert.Options{MetricTypes: true})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var w payload.Writer
	meta := Meta{Gen: 7, Absorbed: []string{"t1", "t2"}, Key: "3f0c2a9e-5d41-4b7a-9c1e-2b8f6d0a7e55"}
	if dropped := writeSpool(&w, "abc", meta, entries, convert.MaxUpdateBytes); dropped != 0 {
		t.Fatalf("%d items left out", dropped)
	}
	instance, backMeta, back, err := readSpool(w.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, w.Bytes())
	}
	if backMeta.Gen != meta.Gen || !slices.Equal(backMeta.Absorbed, meta.Absorbed) || backMeta.Key != meta.Key {
		t.Fatalf("read back %+v, wrote %+v", backMeta, meta)
	}
	if instance != "abc" || len(back) != len(entries) {
		t.Fatalf("read instance %q and %d entries, wrote %d", instance, len(back), len(entries))
	}
	for i, want := range entries {
		var gw, ww payload.Writer
		_, _ = back[i].Value.Write(&gw), want.Value.Write(&ww)
		if back[i].Key != want.Key || back[i].MetricType != want.MetricType || string(gw.Bytes()) != string(ww.Bytes()) {
			t.Errorf("read %s %s, wrote %s %s", back[i].Key, gw.Bytes(), want.Key, ww.Bytes())
		}
	}
}

// An update key read from the spool goes into a request header: one that
// is too long or not printable ASCII makes the file unreadable.
func TestSpoolRefusesUpdateKeysThatAreNotHeaderSafe(t *testing.T) {
	for _, key := range []string{strings.Repeat("k", maxUpdateKeyLen+1), "a\r\nX-Evil: 1", "é"} {
		var w payload.Writer
		writeSpool(&w, "abc", Meta{Key: key}, nil, convert.MaxUpdateBytes)
		if _, _, _, err := readSpool(w.Bytes()); err == nil {
			t.Errorf("key %.20q was read back", key)
		}
	}
}
