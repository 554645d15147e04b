package exporter

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/payload"
)

// entry is one key of data and its converted value, before writing.
type entry struct {
	key   string
	scope string
	value value
	// additive marks a sum or histogram: carried over from a failed
	// update, it adds up with the next one instead of being replaced.
	additive bool
	// metricType is the type to state for the key (WithMetricTypes).
	metricType string
}

func byKey(a, b entry) int { return strings.Compare(a.key, b.key) }

// buffers keeps the converter and the body buffer of the last update for
// the next one. A sync.Pool would not do: it is emptied at every garbage
// collection, and converting a large collection makes garbage enough for
// several, so every update grew its buffers again from nothing. Updates
// that overlap (rare: the Reader sends one at a time) make their own.
type buffers struct {
	converter atomic.Pointer[converter]
	body      atomic.Pointer[[]byte]
}

// maxKeptBody bounds the body buffer kept between updates: enough for an
// update of payload.MaxItems points with a few attributes each.
const maxKeptBody = 32 << 20

func (b *buffers) takeConverter() *converter {
	if c := b.converter.Swap(nil); c != nil {
		return c
	}
	return new(converter)
}

func (b *buffers) keepConverter(c *converter) {
	clear(c.flat) // the attributes belong to the collection
	b.converter.Store(c)
}

func (b *buffers) takeBody() *[]byte {
	if body := b.body.Swap(nil); body != nil {
		return body
	}
	return new([]byte)
}

func (b *buffers) keepBody(body *[]byte) {
	if cap(*body) <= maxKeptBody {
		*body = (*body)[:0]
		b.body.Store(body)
	}
}

// buildPayload writes the body of an update into a reused buffer, which the
// caller gives back with e.buffers.keepBody. Each key is written on its own, so a value that cannot
// be encoded (NaN, an infinity, broken JSON text) costs only its key; such
// keys come back as errors to report. Keys are written in sorted order, so
// equal data encodes identically.
func (e *Exporter) buildPayload(entries []entry, now time.Time) (*[]byte, []error) {
	var problems []error
	body := e.buffers.takeBody()
	var w payload.Writer
	w.Reset((*body)[:0])
	w.BeginUpdate(e.cfg.instanceID.String(), now)
	if len(entries) > 0 {
		data := w.BeginData()
		for _, en := range entries {
			before := w.Mark()
			w.Name(en.key)
			if err := en.value.write(&w); err != nil {
				w.Rewind(before)
				problems = append(problems, fmt.Errorf("key %q dropped: its value cannot be encoded as JSON: %w", en.key, err))
			}
		}
		w.EndData(data)
		if e.cfg.metricTypes {
			writeMetricTypes(&w, entries)
		}
	}
	*body = w.EndUpdate()
	return body, problems
}

// convert turns the collection into the keys of data, sorted, without the
// disabled ones. When two metrics carry one key the later wins: within one
// scope that is how a key changes kind (a bridge Set over a counter);
// across scopes it is a clash worth reporting.
func (e *Exporter) convert(c *converter, rm *metricdata.ResourceMetrics) ([]entry, []error) {
	v := newConversion(c, e.filter.disabled, e.cfg.metricTypes)
	if e.cfg.runtimeFigures {
		if !e.filter.disabled(payload.KeyGoroutines) {
			v.put(entry{key: payload.KeyGoroutines, value: newNumber(payload.IntNumber(int64(runtime.NumGoroutine())))})
		}
		if !e.filter.disabled(payload.KeyMemory) {
			v.put(entry{key: payload.KeyMemory, value: memoryFigures()})
		}
	}
	v.metrics(rm)
	return v.done()
}

// conversion gathers the entries of one collection (see convert).
type conversion struct {
	c           *converter
	entries     []entry
	at          map[string]int // the index of each key's entry
	problems    []error
	disabled    func(key string) bool
	metricTypes bool // work out each entry's metric type
}

func newConversion(c *converter, disabled func(string) bool, metricTypes bool) *conversion {
	c.arena = c.arena[:0]
	return &conversion{c: c, at: make(map[string]int), disabled: disabled, metricTypes: metricTypes}
}

func (v *conversion) put(en entry) {
	en.key = validUTF8(en.key)
	if i, taken := v.at[en.key]; taken {
		if prev := v.entries[i].scope; prev != en.scope {
			v.problems = append(v.problems, fmt.Errorf("key %q is reported by scopes %q and %q: the latter is kept", en.key, prev, en.scope))
		}
		v.entries[i] = en
		return
	}
	v.at[en.key] = len(v.entries)
	v.entries = append(v.entries, en)
}

// metrics converts every metric of rm.
func (v *conversion) metrics(rm *metricdata.ResourceMetrics) {
	if rm == nil {
		return
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			v.one(sm.Scope.Name, payload.InstrumentNameToKey(m.Name), m.Data)
		}
	}
}

func (v *conversion) one(scope, key string, data metricdata.Aggregation) {
	if v.disabled(key) {
		return // neither converted nor sent
	}
	val, err := v.c.shape(data)
	switch {
	case errors.Is(err, errCarriesKeys):
		for _, kd := range splitByKey(key, data) {
			v.one(scope, kd.key, kd.data)
		}
	case err != nil:
		v.problems = append(v.problems, fmt.Errorf("key %q dropped: %w", key, err))
	case val != nil:
		en := entry{key: key, scope: scope, value: val, additive: isAdditive(data)}
		if v.metricTypes { // only worked out when asked for
			en.metricType = metricType(data, val)
		}
		v.put(en)
	}
}

// done returns the entries, sorted by key, and the problems met.
func (v *conversion) done() ([]entry, []error) {
	slices.SortFunc(v.entries, byKey)
	return v.entries, v.problems
}

func isAdditive(agg metricdata.Aggregation) bool {
	switch agg.(type) {
	case metricdata.Sum[int64], metricdata.Sum[float64], metricdata.Histogram[int64], metricdata.Histogram[float64]:
		return true
	}
	return false
}

// memoryFigures is the memory key: heap_alloc and sys, in bytes.
func memoryFigures() object {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return object{
		{name: payload.MemberHeapAlloc, num: payload.IntNumber(int64(ms.HeapAlloc)), isNumber: true},
		{name: payload.MemberSys, num: payload.IntNumber(int64(ms.Sys)), isNumber: true},
	}
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
			b.WriteRune(utf8.RuneError) // per byte, as encoding/json does
		} else {
			b.WriteString(key[i : i+size])
		}
		i += size
	}
	return b.String()
}

// buildBounded is buildPayload for an update that must stay within
// MaxUpdateBytes: when the body would not, keys are left out, whole, from
// the last in key order, and counted under payload.KeyDropped. It returns
// the entries the body holds.
func (e *Exporter) buildBounded(entries []entry, now time.Time, problems []error) ([]entry, *[]byte, []error) {
	body, more := e.buildPayload(entries, now)
	problems = append(problems, more...)
	if len(*body) <= MaxUpdateBytes {
		return entries, body, problems
	}
	e.buffers.keepBody(body)
	kept, dropped := fitBytes(entries, MaxUpdateBytes-boundReserve)
	problems = append(problems, fmt.Errorf("the update would take more than %d bytes: %d items are left out and counted under %s", MaxUpdateBytes, dropped, payload.KeyDropped))
	kept = addDropped(kept, dropped)
	body, more = e.buildPayload(kept, now)
	return kept, body, append(problems, more...)
}

// boundReserve is room for what an update holds besides its keys: the
// envelope, the count of what was left out, metric types.
const boundReserve = 64 << 10

// fitBytes keeps entries, in order, while their encoding fits budget
// bytes, and returns the items of those left out.
func fitBytes(entries []entry, budget int) (kept []entry, dropped int) {
	var w payload.Writer
	used := 0
	for _, en := range entries {
		w.Reset(w.Bytes()[:0])
		w.BeginObject()
		w.Name(en.key)
		err := en.value.write(&w)
		n := len(w.Bytes()) + len(en.key) + 32 // and its metric type
		if err == nil && used+n <= budget || en.key == payload.KeyDropped {
			kept = append(kept, en)
			used += n
			continue
		}
		dropped += en.value.items()
	}
	return kept, dropped
}
