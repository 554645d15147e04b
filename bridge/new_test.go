package bridge_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/bridge"
)

// keyFilter is a bridge.KeyFilter that is not an exporter: the bridge
// needs no more than this to record.
type keyFilter struct {
	mu       sync.Mutex
	disabled map[string]bool
	version  atomic.Uint64
	reports  []string
}

func (f *keyFilter) KeyDisabled(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.disabled[key]
}

func (f *keyFilter) KeyFilterVersion() uint64 { return f.version.Load() }

func (f *keyFilter) Report(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, err.Error())
}

func (f *keyFilter) disable(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disabled[key] = true
	f.version.Add(1)
}

func (f *keyFilter) reported() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reports...)
}

// manualTelemetryReader builds a ManualReader with delta temporality as
// the bridge's telemetry reader; it ignores the collection hooks, as a
// reader without a journal may.
func manualTelemetryReader(r **sdkmetric.ManualReader) func(sdkmetric.Producer, bridge.CollectionHooks) sdkmetric.Reader {
	return func(p sdkmetric.Producer, _ bridge.CollectionHooks) sdkmetric.Reader {
		*r = sdkmetric.NewManualReader(sdkmetric.WithProducer(p),
			sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality { return metricdata.DeltaTemporality }))
		return *r
	}
}

func TestNewRefusesMissingPiecesWithAnError(t *testing.T) {
	var r *sdkmetric.ManualReader
	noReader := func(sdkmetric.Producer, bridge.CollectionHooks) sdkmetric.Reader { return nil }
	nilReader := func(sdkmetric.Producer, bridge.CollectionHooks) sdkmetric.Reader {
		return (*sdkmetric.ManualReader)(nil)
	}
	for name, build := range map[string]func() (*bridge.Bridge, error){
		"no filter":                    func() (*bridge.Bridge, error) { return bridge.New(nil, manualTelemetryReader(&r)) },
		"a nil filter pointer":         func() (*bridge.Bridge, error) { return bridge.New((*keyFilter)(nil), manualTelemetryReader(&r)) },
		"no reader function":           func() (*bridge.Bridge, error) { return bridge.New(&keyFilter{}, nil) },
		"a function making nil":        func() (*bridge.Bridge, error) { return bridge.New(&keyFilter{}, noReader) },
		"a function making nil reader": func() (*bridge.Bridge, error) { return bridge.New(&keyFilter{}, nilReader) },
		"a nil option": func() (*bridge.Bridge, error) {
			return bridge.New(&keyFilter{}, manualTelemetryReader(&r), nil)
		},
		"WithReader(nil)": func() (*bridge.Bridge, error) {
			return bridge.New(&keyFilter{}, manualTelemetryReader(&r), bridge.WithReader(nil))
		},
		"WithReader making nil": func() (*bridge.Bridge, error) {
			return bridge.New(&keyFilter{}, manualTelemetryReader(&r), bridge.WithReader(func(sdkmetric.Producer) sdkmetric.Reader { return nil }))
		},
	} {
		b, err := build()
		if err == nil || b != nil {
			t.Errorf("%s: New returned %v, %v; want an error and no bridge", name, b, err)
		} else if !strings.HasPrefix(err.Error(), "telemetry bridge: New") && !strings.Contains(err.Error(), "built no") && !strings.Contains(err.Error(), "WithReader") {
			t.Errorf("%s: the error %q does not say what New lacks", name, err)
		}
	}
}

// The bridge records through any KeyFilter and any reader: it keeps what
// the filter allows, stops keeping a key once the filter's version moves,
// reports misuse to the filter, and resets through the reader it was given.
func TestABridgeWorksWithAnyKeyFilterAndReader(t *testing.T) {
	filter := &keyFilter{disabled: map[string]bool{"off": true}}
	var r *sdkmetric.ManualReader
	b, err := bridge.New(filter, manualTelemetryReader(&r))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
	sums := func() map[string]int64 {
		t.Helper()
		var rm metricdata.ResourceMetrics
		if err := r.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if s, ok := m.Data.(metricdata.Sum[int64]); ok && len(s.DataPoints) > 0 {
					out[m.Name] = s.DataPoints[0].Value
				}
			}
		}
		return out
	}

	b.Add("a", 2)
	b.Increment("a")
	b.Increment("off")
	b.Append("a", "x") // a counter used as a list: reported, ignored
	if got := sums(); got["a"] != 3 || len(got) != 1 {
		t.Errorf("first collection sums %v, want a: 3 alone", got)
	}
	if rep := filter.reported(); len(rep) != 1 || !strings.Contains(rep[0], `"a"`) {
		t.Errorf("the filter heard %q, want one report of key a's misuse", rep)
	}

	filter.disable("a")
	b.Increment("a")
	b.Increment("kept")
	if got := sums(); got["kept"] != 1 || got["a"] != 0 {
		t.Errorf("after a was disabled the collection sums %v, want kept: 1 and no a", got)
	}

	b.Increment("kept")
	b.Reset()
	if got := sums(); got["kept"] != 0 {
		t.Errorf("Reset left %v for the next collection, want nothing", got)
	}
}
