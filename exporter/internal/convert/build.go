package convert

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

// Entry is one key of data and its converted value, before writing.
type Entry struct {
	Key   string
	Scope string // the instrumentation scope it came from
	Value Value
	// Additive marks a sum or histogram: carried over from a failed
	// update, it adds up with the next one instead of being replaced.
	Additive bool
	// MetricType is the type to state for the key (WithMetricTypes).
	MetricType string
}

// ByKey orders entries by key, as updates and the spool keep them.
func ByKey(a, b Entry) int { return strings.Compare(a.Key, b.Key) }

// Buffers keeps the converter and the body buffer of the last update for
// the next one. A sync.Pool would not do: it is emptied at every garbage
// collection, and converting a large collection makes garbage enough for
// several, so every update grew its buffers again from nothing. Updates
// that overlap (rare: the Reader sends one at a time) make their own.
type Buffers struct {
	converter atomic.Pointer[Converter]
	body      atomic.Pointer[[]byte]
}

// maxKeptBody bounds the body buffer kept between updates: enough for an
// update of payload.MaxItems points with a few attributes each.
const maxKeptBody = 32 << 20

// TakeConverter returns the converter kept from the last update, or a new
// one.
func (b *Buffers) TakeConverter() *Converter {
	if c := b.converter.Swap(nil); c != nil {
		return c
	}
	return new(Converter)
}

// ReturnConverter keeps c for the next update, once the entries it
// converted are written (or detached).
// A converter whose attribute arena grew past maxKeptBody (one update of
// very large attributes) is let go, so that one burst does not stay in
// memory for the life of the process.
func (b *Buffers) ReturnConverter(c *Converter) {
	if cap(c.arena) > maxKeptBody {
		return
	}
	clear(c.flat) // the attributes belong to the collection
	b.converter.Store(c)
}

func (b *Buffers) takeBody() *[]byte {
	if body := b.body.Swap(nil); body != nil {
		return body
	}
	return new([]byte)
}

// ReturnBody keeps a body that Build returned for the next update, once
// it is sent.
func (b *Buffers) ReturnBody(body *[]byte) {
	if cap(*body) <= maxKeptBody {
		*body = (*body)[:0]
		b.body.Store(body)
	}
}

// Envelope is what an update's body says besides its entries.
type Envelope struct {
	Instance    string // the instance ID
	Time        time.Time
	MetricTypes bool // state the metric types of the entries that need one
}

// write writes the body of an update into a reused buffer, which the
// caller gives back with ReturnBody. Each key is written on its own, so a
// value that cannot be encoded (NaN, an infinity, broken JSON text) costs
// only its key; such keys come back as errors to report. Keys are written
// in the order given (by key, as Convert and Merge return them); the
// points of a key keep the order of their collection, which the SDK does
// not hold from one collection to the next, so equal figures need not
// give equal bytes.
//
// sizes, when not nil, receives the bytes each entry took (-1 for one
// that could not be written), for Build to leave keys out without writing
// them again.
func (b *Buffers) write(env Envelope, entries []Entry, sizes []int) (*[]byte, []error) {
	var problems []error
	body := b.takeBody()
	var w payload.Writer
	w.Reset((*body)[:0])
	w.BeginUpdate(env.Instance, env.Time)
	if len(entries) > 0 {
		data := w.BeginData()
		for i, en := range entries {
			before, start := w.Mark(), len(w.Bytes())
			w.Name(en.Key)
			err := en.Value.Write(&w)
			if err != nil {
				w.Rewind(before)
				problems = append(problems, fmt.Errorf("key %q dropped: its value cannot be encoded as JSON: %w", en.Key, err))
			}
			if sizes != nil {
				sizes[i] = len(w.Bytes()) - start
				if err != nil {
					sizes[i] = -1
				}
			}
		}
		w.EndData(data)
		if env.MetricTypes {
			writeMetricTypes(&w, entries)
		}
	}
	*body = w.EndUpdate()
	return body, problems
}

// Options say what a conversion leaves out and adds.
type Options struct {
	// Disabled reports a key that is neither converted nor sent; nil
	// disables none.
	Disabled func(key string) bool
	// MetricTypes works out the metric type of each entry (WithMetricTypes).
	MetricTypes bool
	// RuntimeFigures adds the goroutine count and the memory figures.
	RuntimeFigures bool
}

func (o Options) disabled(key string) bool { return o.Disabled != nil && o.Disabled(key) }

// Convert turns the collection into the keys of data, sorted, without the
// disabled ones. When two metrics carry one key the later wins: within one
// scope that is how a key changes kind (a bridge Set over a counter);
// across scopes it is a clash worth reporting. The entries point into c's
// buffers until they are written or detached.
func Convert(c *Converter, rm *metricdata.ResourceMetrics, opts Options) ([]Entry, []error) {
	v := newConversion(c, opts.disabled, opts.MetricTypes)
	if opts.RuntimeFigures {
		if !opts.disabled(payload.KeyGoroutines) {
			v.put(Entry{Key: payload.KeyGoroutines, Value: newNumber(payload.IntNumber(int64(runtime.NumGoroutine())))})
		}
		if !opts.disabled(payload.KeyMemory) {
			v.put(Entry{Key: payload.KeyMemory, Value: memoryFigures()})
		}
	}
	v.metrics(rm)
	return v.done()
}

// conversion gathers the entries of one collection (see Convert).
type conversion struct {
	c           *Converter
	entries     []Entry
	at          map[string]int // the index of each key's entry
	problems    []error
	disabled    func(key string) bool
	metricTypes bool // work out each entry's metric type
}

func newConversion(c *Converter, disabled func(string) bool, metricTypes bool) *conversion {
	c.arena = c.arena[:0]
	return &conversion{c: c, at: make(map[string]int), disabled: disabled, metricTypes: metricTypes}
}

func (v *conversion) put(en Entry) {
	en.Key = validUTF8(en.Key)
	if i, taken := v.at[en.Key]; taken {
		if prev := v.entries[i].Scope; prev != en.Scope {
			v.problems = append(v.problems, fmt.Errorf("key %q is reported by scopes %q and %q: the latter is kept", en.Key, prev, en.Scope))
		}
		v.entries[i] = en
		return
	}
	v.at[en.Key] = len(v.entries)
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
		en := Entry{Key: key, Scope: scope, Value: val, Additive: isAdditive(data)}
		if v.metricTypes { // only worked out when asked for
			en.MetricType = metricType(data, val)
		}
		v.put(en)
	}
}

// done returns the entries, sorted by key, and the problems met.
func (v *conversion) done() ([]Entry, []error) {
	slices.SortFunc(v.entries, ByKey)
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

// Build writes the body of an update that stays within MaxUpdateBytes:
// when the body would not, keys are left out, whole, from the last in key
// order, and counted under payload.KeyDropped. It returns the entries the
// body holds, the body (for ReturnBody) and the problems met. A key whose
// value cannot be encoded is reported (write) and is not among the
// entries returned, over the bound or not: the caller spools, carries and
// counts those entries, so a key it kept would be reported again with
// every later update that carries it, and a key the bound counted would
// be reported twice.
func (b *Buffers) Build(env Envelope, entries []Entry) ([]Entry, *[]byte, []error) {
	sizes := make([]int, len(entries))
	body, problems := b.write(env, entries, sizes)
	if len(problems) > 0 {
		entries, sizes = written(entries, sizes)
	}
	if len(*body) <= MaxUpdateBytes {
		return entries, body, problems
	}
	b.ReturnBody(body)
	kept, dropped := fitBytes(entries, sizes, MaxUpdateBytes-boundReserve)
	problems = append(problems, fmt.Errorf("the update would take more than %d bytes: %d items are left out and counted under %s", MaxUpdateBytes, dropped, payload.KeyDropped))
	kept = AddDropped(kept, dropped)
	body, more := b.write(env, kept, nil)
	return kept, body, append(problems, more...)
}

// written returns the entries that write could write (size 0 or more) and
// their sizes, in new slices: the caller's stay as they were.
func written(entries []Entry, sizes []int) ([]Entry, []int) {
	keptEntries, keptSizes := make([]Entry, 0, len(entries)), make([]int, 0, len(sizes))
	for i, n := range sizes {
		if n >= 0 {
			keptEntries, keptSizes = append(keptEntries, entries[i]), append(keptSizes, n)
		}
	}
	return keptEntries, keptSizes
}

// MaxUpdateBytes bounds the body of an update (exporter.MaxUpdateBytes
// says why 7 MiB).
const MaxUpdateBytes = 7 << 20

// boundReserve is room for what an update holds besides its keys: the
// envelope, the count of what was left out, metric types.
const boundReserve = 64 << 10

// fitBytes keeps entries, in order, while the bytes they took (sizes, as
// written, plus room for a metric type) fit budget, and returns the items
// of those left out. Every entry was written (see written).
func fitBytes(entries []Entry, sizes []int, budget int) (kept []Entry, dropped int) {
	used := 0
	for i, en := range entries {
		n := sizes[i] + len(en.Key) + 32 // and its metric type
		if used+n <= budget || en.Key == payload.KeyDropped {
			kept = append(kept, en)
			used += n
			continue
		}
		dropped += en.Value.Items()
	}
	return kept, dropped
}
