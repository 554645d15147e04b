package bridge_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/bridge"
	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

// sdkWarnings collects what the OpenTelemetry SDK logs while a test runs.
func sdkWarnings(t *testing.T) func() []string {
	var mu sync.Mutex
	var lines []string
	otel.SetLogger(funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{Verbosity: 1}))
	t.Cleanup(func() { otel.SetLogger(funcr.New(func(string, string) {}, funcr.Options{})) })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lines)
	}
}

func TestEveryCallNamesAFamilyTheSameWay(t *testing.T) {
	warnings := sdkWarnings(t)
	var other *sdkmetric.ManualReader
	f := newFixture(t, nil, bridge.WithReader(func(p sdkmetric.Producer) sdkmetric.Reader {
		other = sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
		return other
	}))
	b := f.b
	record := func() {
		b.Increment("tls:a")
		b.AppendUnique("tls:b", "ua")
		b.Set("tls:c", "x")
		b.SetNested("tls:d", "s", 2)
		b.Append("tls:e", 3)
		b.Set("tls:f", 1.5)
		b.Set("tls", "plain")
	}
	record()
	expectData(t, f.update(t), map[string]string{
		"tls:a": `1`, "tls:b": `[{"count":1,"value":"ua"}]`, "tls:c": `"x"`,
		"tls:d": `{"s":2}`, "tls:e": `[3]`, "tls:f": `1.5`, "tls": `"plain"`,
	})

	atCreation := len(warnings())
	for range 3 { // every collection, not only the first
		record()
		var rm metricdata.ResourceMetrics
		if err := other.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		suffixes := map[string]bool{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != "tls" {
					t.Errorf("a metric named %q: every key of the family should be metric tls", m.Name)
				}
				for _, set := range pointAttrs(m.Data) {
					if v, ok := set.Value(attribute.Key(payload.AttrKeySuffix)); ok {
						suffixes[v.AsString()] = true
					}
				}
			}
		}
		for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
			if !suffixes[s] {
				t.Errorf("no point with suffix %q in %v", s, suffixes)
			}
		}
	}
	// The family holds a counter (an up-down counter) and a counting set (a
	// counter): the SDK warns of the two instruments when the second is
	// made, once per reader, and never again on a collection.
	if atCreation > 2 {
		t.Errorf("%d SDK warnings when the instruments were made, want at most one per reader:\n%s", atCreation, strings.Join(warnings(), "\n"))
	}
	if later := warnings()[atCreation:]; len(later) > 0 {
		t.Errorf("the SDK warned on collections:\n%s", strings.Join(later, "\n"))
	}
}

func pointAttrs(data metricdata.Aggregation) []attribute.Set {
	var out []attribute.Set
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			out = append(out, p.Attributes)
		}
	}
	return out
}

func TestBridgeProblemsReachTheExportersErrorHandler(t *testing.T) {
	var mu sync.Mutex
	var got []string
	handler := otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, err.Error())
	})
	f := newFixture(t, []exporter.Option{exporter.WithErrorHandler(handler)})
	f.b.Append("list", "a")
	f.b.Increment("list")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "telemetry bridge: ") || !strings.Contains(got[0], `"list"`) {
		t.Errorf("the exporter's handler got %q, want the bridge's report of the misuse of key list", got)
	}
}
