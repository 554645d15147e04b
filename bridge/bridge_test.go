package bridge_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/bridge"
	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
)

type version struct {
	Major int      `json:"major"`
	Tags  []string `json:"tags"`
}

type point struct{ X, Y int }

func TestShapesOfEveryCall(t *testing.T) {
	f := newFixture(t, nil)
	b := f.b
	b.Increment("requests")
	b.Add("requests", 4)
	b.Add("negative", -2)
	b.Set("int", 7)
	b.Set("float", 2.5)
	b.Set("string", "hello")
	b.Set("bool", true)
	b.Set("struct", version{Major: 2, Tags: []string{"a"}})
	b.Set("map", map[string]int{"a": 1})
	b.Set("nil", nil)
	b.Set("big", uint64(math.MaxUint64))
	b.SetNested("build", "os", "linux")
	b.SetNested("build", "cpus", 8)
	b.SetNested("build", "load", 0.5)
	b.SetNested("ratios", "a", 0.25)
	b.Append("events", "start")
	b.Append("events", 3)
	b.Append("events", point{1, 2})
	b.AppendUnique("ua", "curl")
	b.AppendUnique("ua", "curl")
	b.AppendUnique("ua", 5)
	b.AppendUnique("ua", point{1, 2})
	b.Increment("tls_client_hello_ua:3fa2c1b0")
	b.Set("os:linux", "yes")
	long := strings.Repeat("k", 300)
	b.Increment(long)

	expectData(t, f.update(t), map[string]string{
		"requests":                     `5`,
		"negative":                     `-2`,
		"int":                          `7`,
		"float":                        `2.5`,
		"string":                       `"hello"`,
		"bool":                         `true`,
		"struct":                       `{"major":2,"tags":["a"]}`,
		"map":                          `{"a":1}`,
		"nil":                          `null`,
		"big":                          `18446744073709551615`,
		"build":                        `{"cpus":8,"load":0.5,"os":"linux"}`,
		"ratios":                       `{"a":0.25}`,
		"events":                       `["start",3,{"X":1,"Y":2}]`,
		"ua":                           `[{"count":2,"value":"curl"},{"count":1,"value":5},{"count":1,"value":{"X":1,"Y":2}}]`,
		"tls_client_hello_ua:3fa2c1b0": `1`,
		"os:linux":                     `"yes"`,
		long:                           `1`,
	})
}

func TestEachUpdateCarriesOnlyWhatIsNew(t *testing.T) {
	f := newFixture(t, nil)
	b := f.b
	b.Add("n", 3)
	b.Set("v", "x")
	b.SetNested("o", "a", 1)
	b.Append("l", 1)
	b.AppendUnique("s", "a")
	f.update(t)

	b.Add("n", 2)
	b.SetNested("o", "b", 2)
	b.Append("l", 2)
	b.AppendUnique("s", "a")
	expectData(t, f.update(t), map[string]string{
		"n": `2`, "o": `{"b":2}`, "l": `[2]`, "s": `[{"count":1,"value":"a"}]`,
	})
	expectData(t, f.update(t), map[string]string{})

	b.Set("v", "x") // set again: sent again
	expectData(t, f.update(t), map[string]string{"v": `"x"`})
}

func TestSetReplacesAnyKind(t *testing.T) {
	f := newFixture(t, nil)
	b := f.b
	b.Increment("k")
	b.Set("k", "now a string")
	b.Append("l", 1)
	b.Set("l", 2)
	b.AppendUnique("s", "a")
	b.Set("s", map[string]bool{"x": true})
	expectData(t, f.update(t), map[string]string{"k": `"now a string"`, "l": `2`, "s": `{"x":true}`})
}

func TestKindMisuseIsReportedAndIgnored(t *testing.T) {
	errs := servertest.CaptureErrors(t)
	f := newFixture(t, nil)
	b := f.b
	b.Append("list", "a")
	b.Increment("list")
	b.Increment("count")
	b.Append("count", "x")
	b.SetNested("count", "s", 1)
	b.AppendUnique("count", "v")
	b.Set("value", 1)
	b.SetNested("value", "s", 1)
	for range 1000 { // a hot loop of misuse is reported once
		b.Increment("list")
	}
	b.AppendUnique("set", []int{1})         // unhashable
	b.AppendUnique("set", map[string]int{}) // unhashable
	b.AppendUnique("set", "ok")             // nothing is left locked
	b.Set("bad", make(chan int))
	b.Set("nan", math.NaN())
	b.Append("list", func() {})

	expectData(t, f.update(t), map[string]string{
		"list": `["a"]`, "count": `1`, "value": `1`, "set": `[{"count":1,"value":"ok"}]`,
	})
	if n := len(errs.Messages()); n != 10 {
		t.Errorf("%d problems reported, want 10 (one per distinct misuse)", n)
	}
	// A new update is a new buffer: the key may take another kind.
	b.Increment("list")
	expectData(t, f.update(t), map[string]string{"list": `1`})
}

type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("boom") }

func TestPanickingMarshalerIsContained(t *testing.T) {
	servertest.CaptureErrors(t)
	f := newFixture(t, nil)
	f.b.Set("p", panicky{})
	f.b.Set("fine", 1)
	expectData(t, f.update(t), map[string]string{"fine": `1`})
}

func TestValuesAreCapturedWhenRecorded(t *testing.T) {
	f := newFixture(t, nil)
	m := map[string]int{"a": 1}
	s := []string{"x"}
	f.b.Set("m", m)
	f.b.Append("s", s)
	done := make(chan struct{})
	go func() { // the caller keeps changing what it passed
		for i := range 1000 {
			m["a"] = i
			s[0] = "changed"
		}
		close(done)
	}()
	<-done
	expectData(t, f.update(t), map[string]string{"m": `{"a":1}`, "s": `[["x"]]`})
}

func TestDisabledKeysAreNeitherKeptNorSent(t *testing.T) {
	f := newFixture(t, []exporter.Option{exporter.WithDisabledKeys("os", " tls ")})
	f.b.Set("os", "linux")
	f.b.Increment("tls:abc")
	f.b.AppendUnique("tls", "x")
	f.b.Increment("ok")
	expectData(t, f.update(t), map[string]string{"ok": `1`})
}

func TestResetDropsWhatWasNotSent(t *testing.T) {
	f := newFixture(t, nil)
	f.b.Increment("n")
	f.b.Set("v", 1)
	f.b.Append("l", 1)
	f.b.AppendUnique("s", 1)
	f.b.Reset()
	f.b.Increment("after")
	expectData(t, f.update(t), map[string]string{"after": `1`})
}

func TestItemLimit(t *testing.T) {
	servertest.CaptureErrors(t)
	f := newFixture(t, nil)
	b := f.b
	b.Increment("early")
	for i := range bridge.MaxItems + 10 {
		b.AppendUnique("set", i)
	}
	b.Increment("early") // existing items still update
	b.Increment("late")  // a new key is dropped
	got := f.update(t)
	if got["early"] != "2" {
		t.Errorf("early = %s, want 2", got["early"])
	}
	if _, ok := got["late"]; ok {
		t.Error("a key past the limit was kept")
	}
	if n := strings.Count(got["set"], `"value"`); n != bridge.MaxItems-2 {
		t.Errorf("set kept %d values, want %d (the limit less the two keys)", n, bridge.MaxItems-2)
	}
	// The next update has room again.
	b.Increment("late")
	expectData(t, f.update(t), map[string]string{"late": `1`})
}

func TestAnotherReaderSeesTheSameFiguresOnce(t *testing.T) {
	var other *sdkmetric.ManualReader
	f := newFixture(t, nil, bridge.WithReader(func(p sdkmetric.Producer) sdkmetric.Reader {
		other = sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
		return other
	}))
	b := f.b
	b.Add("n", 3)
	b.Set("v", "x")
	b.AppendUnique("s", "a")
	collect := func() map[string]metricdata.Metrics {
		var rm metricdata.ResourceMetrics
		if err := other.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]metricdata.Metrics{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				out[m.Name] = m
			}
		}
		return out
	}
	first := collect()
	f.update(t) // the telemetry reader's update does not take the other's figures
	b.Add("n", 1)
	second := collect()

	if sum, ok := first["n"].Data.(metricdata.Sum[int64]); !ok || sum.DataPoints[0].Value != 3 {
		t.Errorf("other reader n = %+v", first["n"].Data)
	}
	if g, ok := first["v"].Data.(metricdata.Gauge[int64]); !ok || g.DataPoints[0].Attributes.Len() != 1 {
		t.Errorf("other reader v = %+v", first["v"].Data)
	} else if val, _ := g.DataPoints[0].Attributes.Value(attribute.Key(payload.AttrValue)); val.AsString() != "x" {
		t.Errorf("other reader v = %v", val)
	}
	if _, ok := first["s"]; !ok {
		t.Error("other reader has no counting set")
	}
	if _, ok := second["v"]; ok {
		t.Error("other reader got the set value twice")
	}
	if sum, ok := second["n"].Data.(metricdata.Sum[int64]); !ok || sum.DataPoints[0].Value != 4 {
		// the default temporality of a ManualReader is cumulative: 3 then 4
		t.Errorf("other reader n after more adds = %+v", second["n"].Data)
	}
}

// Counts reach another reader as cumulative sums even when its selector
// asks for deltas (the producer cannot ask its reader), while the
// telemetry server gets what each update added.
func TestAnotherReaderGetsCumulativeCounts(t *testing.T) {
	var other *sdkmetric.ManualReader
	f := newFixture(t, nil, bridge.WithReader(func(p sdkmetric.Producer) sdkmetric.Reader {
		other = sdkmetric.NewManualReader(sdkmetric.WithProducer(p),
			sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality { return metricdata.DeltaTemporality }))
		return other
	}))
	sums := func() map[string]metricdata.Sum[int64] {
		var rm metricdata.ResourceMetrics
		if err := other.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]metricdata.Sum[int64]{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
					out[m.Name] = sum
				}
			}
		}
		return out
	}
	f.b.Add("n", 3)
	f.b.AppendUnique("s", "a")
	first := sums()
	expectData(t, f.update(t), map[string]string{"n": `3`, "s": `[{"count":1,"value":"a"}]`})
	f.b.Add("n", 2)
	f.b.AppendUnique("s", "a")
	second := sums()
	expectData(t, f.update(t), map[string]string{"n": `2`, "s": `[{"count":1,"value":"a"}]`})

	for name, want := range map[string][2]int64{"n": {3, 5}, "s": {1, 2}} {
		for i, got := range []metricdata.Sum[int64]{first[name], second[name]} {
			if got.Temporality != metricdata.CumulativeTemporality || len(got.DataPoints) != 1 || got.DataPoints[0].Value != want[i] {
				t.Errorf("collection %d of %s: %+v, want one cumulative point of %d", i+1, name, got, want[i])
			}
		}
	}
	if !second["s"].IsMonotonic || second["n"].IsMonotonic {
		t.Errorf("monotonic: counting set %v, counter %v; want true, false", second["s"].IsMonotonic, second["n"].IsMonotonic)
	}
}

// Values that differ in Go but become the same attribute (int and int64,
// two structs with the same JSON) are one member of a counting set: one
// series for every reader, as an SDK instrument would have it.
func TestValuesOfOneAttributeAreOneMember(t *testing.T) {
	var other *sdkmetric.ManualReader
	f := newFixture(t, nil, bridge.WithReader(func(p sdkmetric.Producer) sdkmetric.Reader {
		other = sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
		return other
	}))
	type point struct{ X int }
	type place struct{ X int }
	for _, v := range []any{1, int64(1), uint8(1), point{1}, place{1}} {
		f.b.AppendUnique("s", v)
	}
	var rm metricdata.ResourceMetrics
	if err := other.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var values []int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "s" {
				for _, p := range sum.DataPoints {
					values = append(values, p.Value)
				}
			}
		}
	}
	if fmt.Sprint(values) != "[3 2]" && fmt.Sprint(values) != "[2 3]" {
		t.Errorf("the other reader got points %v, want one of 3 (the integers) and one of 2 (the objects)", values)
	}
	expectData(t, f.update(t), map[string]string{"s": `[{"count":3,"value":1},{"count":2,"value":{"X":1}}]`})
}

func TestRecordingAfterShutdownIsANoOp(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.b.Increment("n")
	f.b.Set("v", 1)
	f.b.Reset()
	if n := len(f.server.Requests()); n != 0 {
		t.Errorf("%d requests from a bridge never started", n)
	}
}
