package exporter

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// Keys that the exporter fills itself just before each update.
const (
	KeyGoroutines = "goroutines"
	KeyMemory     = "memory"
)

// buildPayload converts one collection into the encoded body of an update.
// Each key is encoded on its own, so a value that cannot be encoded (NaN, an
// infinity, a broken MarshalJSON) costs only its key; those keys come back
// as errors to report, and the rest of the payload is still built.
func (e *Exporter) buildPayload(rm *metricdata.ResourceMetrics, now time.Time) ([]byte, []error) {
	data := make(map[string]any)
	from := make(map[string]string) // key -> scope that reported it
	var problems []error
	put := func(scope, key string, v any) {
		if e.filter.disabled(key) {
			return
		}
		// Two metrics with one key: the later wins. Within one scope that is
		// how a key changes kind (a bridge Set over a counter); across scopes
		// it is a clash worth reporting.
		if prev, taken := from[key]; taken && prev != scope {
			problems = append(problems, fmt.Errorf("key %q is reported by scopes %q and %q: the latter is kept", key, prev, scope))
		}
		raw, err := json.Marshal(v)
		if err != nil {
			problems = append(problems, fmt.Errorf("key %q dropped: its value cannot be encoded as JSON: %w", key, err))
			return
		}
		data[key] = json.RawMessage(raw)
		from[key] = scope
	}

	if e.cfg.runtimeFigures {
		put("", KeyGoroutines, runtime.NumGoroutine())
		put("", KeyMemory, memoryFigures())
	}
	if rm != nil {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				key := InstrumentNameToKey(m.Name)
				v, ok, err := shape(m.Data)
				if err != nil {
					problems = append(problems, fmt.Errorf("key %q dropped: %w", key, err))
					continue
				}
				if ok {
					put(sm.Scope.Name, key, v)
				}
			}
		}
	}

	p := payload.Payload{InstanceID: e.cfg.instanceID.String(), Timestamp: now.UTC()}
	if len(data) > 0 {
		p.Data = data
	}
	body, err := json.Marshal(p)
	if err != nil { // every value was encoded already; this cannot fail
		return nil, append(problems, errors.Join(errors.New("encode payload"), err))
	}
	return body, problems
}

type memory struct {
	HeapAlloc uint64 `json:"heap_alloc"`
	Sys       uint64 `json:"sys"`
}

func memoryFigures() memory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{HeapAlloc: ms.HeapAlloc, Sys: ms.Sys}
}
