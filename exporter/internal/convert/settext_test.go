package convert

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// Two sets whose Distinct collide (planted here: a 64-bit hash collision
// cannot be made on purpose) never share a text.
func TestSetTextsNeverLendOneSetsTextToAnother(t *testing.T) {
	a := attribute.NewSet(attribute.String("route", "/a"))
	b := attribute.NewSet(attribute.String("route", "/b"))
	var texts setTexts
	texts.next()
	texts.add(&a, []byte(`{"route":"/a"}`), false)
	// b's Distinct now leads to a's text, in this generation and the last.
	texts.cur.sets[b.Equivalent()] = texts.cur.sets[a.Equivalent()]
	if json, _, found := texts.find(&b); found {
		t.Fatalf("b was given the text %s", json)
	}
	texts.add(&b, []byte(`{"route":"/b"}`), false)
	texts.next()
	if json, _, found := texts.find(&b); found {
		t.Fatalf("after a conversion, b was given the text %s", json)
	}
	if json, _, found := texts.find(&a); !found || string(json) != `{"route":"/a"}` {
		t.Fatalf("a's text = %s (found %v)", json, found)
	}
}

// A set not met for a whole conversion is forgotten, so the texts hold
// the series of two conversions at most.
func TestSetTextsForgetSetsNotMetForAConversion(t *testing.T) {
	a := attribute.NewSet(attribute.Int("shard", 1))
	b := attribute.NewSet(attribute.Int("shard", 2))
	var texts setTexts
	texts.next()
	texts.add(&a, []byte(`{"shard":1}`), false)
	texts.next()
	texts.add(&b, []byte(`{"shard":2}`), false)
	texts.next()
	if _, _, found := texts.find(&a); found {
		t.Error("a set not met in the last conversion is still remembered")
	}
	if _, _, found := texts.find(&b); !found {
		t.Error("a set met in the last conversion is forgotten")
	}
	if n := len(texts.cur.sets) + len(texts.prev.sets); n > 2 {
		t.Errorf("%d sets remembered, want at most 2", n)
	}
}

// A converter that remembers the sets of earlier conversions writes every
// point exactly as a new converter does, round after round, while series
// come, go, change attributes and carry the protocol's attributes.
func TestRememberedSetsWriteWhatAFreshConverterWrites(t *testing.T) {
	reader := sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
		return metricdata.DeltaTemporality
	}))
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("m")
	counter, _ := meter.Int64Counter("requests")
	latency, _ := meter.Float64Histogram("latency")
	gauge, _ := meter.Float64Gauge("load")
	shaped, _ := meter.Int64Counter("shaped")
	ctx := context.Background()
	kept := new(Converter)
	for round := range 6 {
		for i := range 40 {
			if (i+round)%5 == 0 {
				continue // a series that comes and goes
			}
			attrs := metric.WithAttributes(
				attribute.String("route", fmt.Sprintf("/r/%d", i)),
				attribute.Int("status", 200+(i*round)%3), // changes from round to round
				attribute.StringSlice("tags", []string{"<&>", fmt.Sprint(i % 2)}),
			)
			counter.Add(ctx, int64(i+1), attrs)
			latency.Record(ctx, float64(i)/7, attrs)
			gauge.Record(ctx, float64(round), attrs)
			shaped.Add(ctx, 1, metric.WithAttributes(attribute.String(payload.AttrValue, fmt.Sprint(i%(round+2)))))
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		got, errs := Convert(kept, &rm, Options{})
		want, wantErrs := Convert(new(Converter), &rm, Options{})
		if len(errs) != 0 || len(wantErrs) != 0 || len(got) != len(want) {
			t.Fatalf("round %d: %d entries (%v), want %d (%v)", round, len(got), errs, len(want), wantErrs)
		}
		for i := range want {
			if g, w := valueJSON(t, got[i].Value), valueJSON(t, want[i].Value); got[i].Key != want[i].Key || g != w {
				t.Errorf("round %d, %s:\n got %s\nwant %s", round, want[i].Key, g, w)
			}
		}
	}
}
