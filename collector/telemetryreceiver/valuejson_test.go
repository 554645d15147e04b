package telemetryreceiver

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

// TestValueJSONIsTheBridges records values through compat and compares,
// byte for byte, the value attribute that the bridge gives each one with
// the one the Collector gives it once the exporter has sent it. It runs in
// a process of its own, as compat allows Init once per process.
func TestValueJSONIsTheBridges(t *testing.T) {
	inChild(t, "TestValueJSONIsTheBridges", compareValueJSON)
}

type agent struct {
	Name    string
	Version [2]int
	OS      struct{ Kind, Arch string }
}

type release struct {
	Tag     string
	Notes   map[string]string
	Agents  []agent
	Weights []float64
	Extra   any
}

// spaced writes its JSON with white space and unsorted names, which
// encoding/json compacts but does not reorder.
type spaced struct{}

func (spaced) MarshalJSON() ([]byte, error) {
	return []byte(`{ "z" : "<&>" , "a" : [ 1 , 2.5 ] }`), nil
}

// tricky is valid UTF-8: a string value travels as an attribute of its
// own, which the bridge keeps as given and the wire, where invalid bytes
// become U+FFFD, cannot. Inside a JSON value they are tried too.
const tricky = "<b>&amp;</b> Zoë 東京 \x01\t\n\u2028\u2029 \"quoted\" \\"

// comparable values, for AppendUnique; the others are nested further.
var uniqueValues = []any{
	agent{Name: tricky + "\xff", Version: [2]int{1, 26}},
	agent{Name: "curl <8>", OS: struct{ Kind, Arch string }{"linux & co", "é"}},
	spaced{},
	tricky,
}

var nestedValues = append(slices.Clone(uniqueValues),
	map[string]any{"b": tricky, "a": []any{1, 2.5, nil, true, map[string]any{"&": ">"}}},
	[]any{"<", map[string]any{"é": []string{"\u2028"}}},
	[]string{"<x>", "&"},
	release{
		Tag:     "v1.0 <rc>",
		Notes:   map[string]string{"z": "&", "a": tricky + "\xff"},
		Agents:  []agent{{Name: "a<b"}, {Name: "ünï"}},
		Weights: []float64{0.1, 1e21, 1e-7},
		Extra:   map[string]any{"list": []any{spaced{}}},
	},
)

func compareValueJSON(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	base := startReceiver(t, testConfig(), sink)
	var own *sdkmetric.ManualReader
	compat.InitWithOptions(testID, nil,
		compat.WithExporterOptions(exporter.WithEndpoint(base)),
		compat.WithReader(func(p sdkmetric.Producer) sdkmetric.Reader {
			own = sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
			return own
		}),
	)
	for i, v := range nestedValues {
		compat.SetNested("nested", fmt.Sprintf("v%02d", i), v)
		compat.Append("list", v)
	}
	for _, v := range uniqueValues {
		compat.AppendUnique("unique", v)
	}
	var rm metricdata.ResourceMetrics
	if err := own.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	bridge := bridgeValues(rm)

	compat.StartEmitting() // one update, then the final one
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := compat.StopEmittingContext(ctx); err != nil {
		t.Fatal(err)
	}
	collector := make(map[string][]string)
	for _, md := range sink.AllMetrics() {
		for k, vs := range collectorValues(md) {
			collector[k] = append(collector[k], vs...)
		}
	}

	compared := 0
	for place, want := range bridge {
		got := slices.Compact(slices.Sorted(slices.Values(collector[place]))) // the final update may repeat a value
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the Collector has\n  %q\nthe bridge\n  %q", place, got, want)
		}
		compared += len(want)
	}
	if want := 2*len(nestedValues) + len(uniqueValues); compared != want || len(collector) != len(bridge) {
		t.Errorf("compared %d values at %d places, the Collector has %d places; want %d values", compared, len(bridge), len(collector), want)
	}
	if got, want := withAttr(bridge, payload.AttrValueJSON), 2*nonStrings(nestedValues)+nonStrings(uniqueValues); got != want {
		t.Errorf("%d values went as %s, want %d", got, payload.AttrValueJSON, want)
	}
}

// withAttr counts the values given in the attribute name.
func withAttr(values map[string][]string, name string) int {
	n := 0
	for _, vs := range values {
		for _, v := range vs {
			if strings.HasPrefix(v, name+"=") {
				n++
			}
		}
	}
	return n
}

// nonStrings counts the values that are not strings.
func nonStrings(values []any) int {
	n := 0
	for _, v := range values {
		if _, isString := v.(string); !isString {
			n++
		}
	}
	return n
}

// place names where a value sits: its key and its sub-key or index, or
// the key alone for the members of a counting set.
func place(key string, sub, index string) string {
	return key + "/" + sub + index
}

// bridgeValues gathers the value attribute of each point the bridge gives
// its own readers, as "name=text", by place.
func bridgeValues(rm metricdata.ResourceMetrics) map[string][]string {
	out := make(map[string][]string)
	add := func(metric string, set attribute.Set) {
		var sub, index, value string
		for _, kv := range set.ToSlice() {
			switch kv.Key {
			case payload.AttrSubkey:
				sub = kv.Value.AsString()
			case payload.AttrIndex:
				index = fmt.Sprint(kv.Value.AsInt64())
			case payload.AttrValue, payload.AttrValueJSON:
				value = string(kv.Key) + "=" + kv.Value.String()
			}
		}
		if value != "" {
			k := place(payload.InstrumentNameToKey(metric), sub, index)
			out[k] = append(out[k], value)
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					add(m.Name, dp.Attributes)
				}
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					add(m.Name, dp.Attributes)
				}
			}
		}
	}
	return out
}

// collectorValues is bridgeValues for what the Collector made of an update.
func collectorValues(md pmetric.Metrics) map[string][]string {
	out := make(map[string][]string)
	add := func(metric string, attrs pcommon.Map) {
		var sub, index, value string
		for k, v := range attrs.All() {
			switch k {
			case payload.AttrSubkey:
				sub = v.Str()
			case payload.AttrIndex:
				index = fmt.Sprint(v.Int())
			case payload.AttrValue, payload.AttrValueJSON:
				value = k + "=" + v.AsString()
			}
		}
		if value != "" {
			k := place(metric, sub, index)
			out[k] = append(out[k], value)
		}
	}
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				var points pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					points = m.Gauge().DataPoints()
				case pmetric.MetricTypeSum:
					points = m.Sum().DataPoints()
				default:
					continue
				}
				for p := range points.Len() {
					add(m.Name(), points.At(p).Attributes())
				}
			}
		}
	}
	return out
}
