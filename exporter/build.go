package exporter

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Keys that the exporter fills itself just before each update.
const (
	KeyGoroutines = "goroutines"
	KeyMemory     = "memory"
)

// keyed is one key of data and its converted value, before encoding.
type keyed struct {
	key   string
	scope string
	value any
	// additive marks a sum or histogram: carried over from a failed
	// update, it adds up with the next one instead of being replaced.
	additive bool
	// metricType is the type to state for the key (WithMetricTypes).
	metricType string
}

func byKey(a, b keyed) int { return strings.Compare(a.key, b.key) }

// bodyPool recycles the buffers payloads are written into.
var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody keeps one huge payload from pinning its buffer.
const maxPooledBody = 8 << 20

func releaseBody(b *[]byte) {
	if cap(*b) <= maxPooledBody {
		*b = (*b)[:0]
		bodyPool.Put(b)
	}
}

// buildPayload converts one collection and writes the body of an update
// into a pooled buffer, which the caller releases. Each key is written on
// its own, so a value that cannot be encoded (NaN, an infinity, a broken
// MarshalJSON) costs only its key; such keys come back as errors to report.
// Keys are written in sorted order, so equal data encodes identically.
func (e *Exporter) buildPayload(entries []keyed, now time.Time) (*[]byte, []error) {
	var problems []error
	body := bodyPool.Get().(*[]byte)
	b := append((*body)[:0], `{"instance_id":`...)
	b = appendString(b, e.cfg.instanceID.String())
	b = append(b, `,"timestamp":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	// The documented expect_next tag (omitempty) does not omit a zero time.
	b = append(b, `","expect_next":"0001-01-01T00:00:00Z"`...)
	if len(entries) > 0 {
		b = append(b, `,"data":{`...)
		empty := len(b)
		for _, en := range entries {
			start := len(b)
			if len(b) > empty {
				b = append(b, ',')
			}
			b = appendString(b, en.key)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, en.value); err != nil {
				b = b[:start]
				problems = append(problems, fmt.Errorf("key %q dropped: its value cannot be encoded as JSON: %w", en.key, err))
			}
		}
		if len(b) == empty { // every key was dropped: no data member
			b = b[:empty-len(`,"data":{`)]
		} else {
			b = append(b, '}')
		}
		if e.cfg.metricTypes {
			b = appendMetricTypes(b, entries)
		}
	}
	*body = append(b, '}')
	return body, problems
}

// convert turns the collection into the keys of data, sorted, without the
// disabled ones. When two metrics carry one key the later wins: within one
// scope that is how a key changes kind (a bridge Set over a counter);
// across scopes it is a clash worth reporting.
func (e *Exporter) convert(rm *metricdata.ResourceMetrics) ([]keyed, []error) {
	var entries []keyed
	var problems []error
	at := make(map[string]int)
	put := func(scope, key string, v any, additive bool, metricType string) {
		if e.filter.disabled(key) {
			return
		}
		key = validUTF8(key)
		if i, taken := at[key]; taken {
			if prev := entries[i].scope; prev != scope {
				problems = append(problems, fmt.Errorf("key %q is reported by scopes %q and %q: the latter is kept", key, prev, scope))
			}
			entries[i] = keyed{key, scope, v, additive, metricType}
			return
		}
		at[key] = len(entries)
		entries = append(entries, keyed{key, scope, v, additive, metricType})
	}
	if e.cfg.runtimeFigures {
		put("", KeyGoroutines, runtime.NumGoroutine(), false, "")
		put("", KeyMemory, memoryFigures(), false, "")
	}
	if rm != nil {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				convertOne := func(key string, data metricdata.Aggregation) {
					v, ok, err := shape(data)
					if err != nil {
						problems = append(problems, fmt.Errorf("key %q dropped: %w", key, err))
					} else if ok {
						var stated string
						if e.cfg.metricTypes { // only written when asked for
							stated = metricType(data, v)
						}
						put(sm.Scope.Name, key, v, isAdditive(data), stated)
					}
				}
				if !carriesKeys(m.Data) {
					convertOne(InstrumentNameToKey(m.Name), m.Data)
					continue
				}
				for _, kd := range splitByKey(m) {
					convertOne(kd.key, kd.data)
				}
			}
		}
	}
	slices.SortFunc(entries, byKey)
	return entries, problems
}

func isAdditive(agg metricdata.Aggregation) bool {
	switch agg.(type) {
	case metricdata.Sum[int64], metricdata.Sum[float64], metricdata.Histogram[int64], metricdata.Histogram[float64]:
		return true
	}
	return false
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

// validUTF8 replaces each byte of key that is not valid UTF-8 with U+FFFD,
// as JSON text must be UTF-8 (encoding/json does the same). Doing it before
// keys are compared keeps two such keys from becoming one JSON member twice.
func validUTF8(key string) string {
	if utf8.ValidString(key) {
		return key
	}
	var b strings.Builder
	for i := 0; i < len(key); {
		r, size := utf8.DecodeRuneInString(key[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(key[i : i+size])
		}
		i += size
	}
	return b.String()
}
