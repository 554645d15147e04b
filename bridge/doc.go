// Package bridge records the documented telemetry calls (Set, SetNested,
// Append, AppendUnique, Add, Increment) as OpenTelemetry data, so that the
// same figures reach the telemetry server and any other OpenTelemetry
// reader. It keeps no global state: package compat is the global face over
// one Bridge.
//
// # What the bridge is given
//
// The bridge records; sending is its caller's business. New takes a
// KeyFilter, which says whether a key is disabled (with a version that
// moves whenever that answer may change, so that a recording call asks
// only then) and takes the problems the bridge finds, and a function that
// builds the telemetry reader from the bridge's primary producer and its
// CollectionHooks. WithJournal adds the journal that lets figures outlive
// the process. Package compat makes all three from one exporter: the
// exporter is the filter, its Journal the journal, and exporter.NewReader
// over it, given the producer and the hooks, the reader; compat.New does
// this for a test or a program that wants an instance of its own. Over
// any other filter and reader (a ManualReader, say) the bridge records
// the same way, keeping its figures in memory.
//
// # How each call becomes OpenTelemetry data
//
//	Add, Increment       an int64 sum named after the key, not monotonic
//	                     (what an Int64UpDownCounter gives)
//	AppendUnique(k, v)   a monotonic int64 sum named after k, with v in the
//	                     attribute telemetry.value (or telemetry.value_json
//	                     when v is not a string, bool or number)
//	Set(k, v)            a gauge from the bridge's producer: a number as the
//	                     point's value, anything else as the value attribute
//	                     of a point worth 1
//	SetNested(k, s, v)   one gauge for k with a point per sub-key s
//	                     (attribute telemetry.subkey)
//	Append(k, v)         one gauge for k with a point per element, numbered
//	                     by the attribute telemetry.index
//
// Every figure comes from the bridge's producers, one per reader. Counts
// (series.go) reach the telemetry reader, and readers added with
// WithDeltaReader, as deltas since their previous collection; readers
// added with WithReader get cumulative sums, whatever their temporality
// selector says, since a producer cannot ask its reader and cumulative
// sums are what Prometheus and OTLP backends expect by default. Values
// (Set, SetNested, Append) reach each reader once per change. The bridge
// does not record through SDK instruments, whose per-reader aggregation
// cost more than the whole design this package replaces (see series), so
// the MeterProvider's views do not apply to its figures. A reader given
// through WithMeterProviderOptions sees only the program's own
// instruments: an SDK reader takes its producers when it is made, so add
// it with WithReader or WithDeltaReader instead; a reader of another
// MeterProvider can take a producer from Bridge.Producer.
//
// # Keys and instrument names
//
// Instrument names allow only [A-Za-z0-9_./-] and must start with a letter,
// while keys are any string ("tls_client_hello_ua:3fa2c1b0"). The bridge
// names its metrics by the same rule, with payload.KeyToInstrumentName:
// other bytes are escaped as '/' and two upper-case hex digits, and a key
// that does not start with a letter is prefixed with "k/_".
//
// A key with a colon belongs to the family before the colon, and every
// call names it the same way: "tls_client_hello_ua:3fa2c1b0" is a point of
// the metric "tls_client_hello_ua" with the attribute
// telemetry.key_suffix="3fa2c1b0", whether Increment, AppendUnique, Set,
// SetNested or Append recorded it. Backends see one metric with many
// series rather than a metric per hash. Past 10,000 metric names, new
// counter keys share "telemetry.counters" or "telemetry.counting_sets"
// with the key in attribute telemetry.key. The exporter restores the exact
// key in every case.
//
// A family is best recorded with one kind. When it holds several (counts
// with Increment, values with Set), an OpenTelemetry reader sees one metric
// of that name per kind that was used, each with the points of that kind:
// a non-monotonic sum for the counts, a monotonic sum for counting sets, a
// gauge for values (two gauges when some values are floats and some are
// not). The telemetry server sees each key as it was recorded.
//
// # The recording hot path
//
// A call that records into a key already seen takes no lock and, but for
// the count itself, writes no shared memory:
//
//  1. The key's entry is found by the address of the key's bytes among
//     64 recently used entries (liveEntry): keys are nearly always string
//     literals, whose address never changes, so the key is not hashed. A
//     key built at run time is looked up in the entry table's snapshot, a
//     map read through an atomic pointer (table.go).
//  2. The key filter's verdict is cached in the entry with the filter's
//     version; it is asked again only when the version moves (with the
//     exporter as the filter, when the server changed its list).
//  3. The item limit is checked against the entry's stamp, the interval
//     in which it was last counted (interval.go): two atomic loads once
//     the key has been counted in this interval.
//  4. Add and Increment add to the entry's tally with one atomic add,
//     into the journal (below); AppendUnique finds the value's member (a
//     second map read, by the value's string) and adds to its tally. A
//     string value seen for the first time is copied, so that the set
//     does not hold on to the caller's per-request allocations.
//     Collections drain the tallies into each reader's sum (flush.go),
//     which its producer reports (report.go).
//  5. Set, SetNested and Append take the entry's own mutex, number the
//     change for the producers, store the value, and write it to the
//     journal: SetNested writes the sub-key's cell in place, a captured
//     integer keeps the caller's own box, and a number replacing a number
//     is two plain stores in the journal (the number, then the journal's
//     sequence number; no atomic instruction), so a value that changes on every
//     call allocates nothing. A value equal to the one held and not yet
//     reported is not written.
//
// # Surviving the process
//
// With a journal (WithJournal; compat passes the one of the exporter's
// spool, exporter.WithSpool, on by default), counts and values are kept in
// it, a file of the spool mapped into memory (package internal/journal),
// and the telemetry reader tells the bridge of each collection through
// CollectionHooks, so that the journal can say what each took. A figure
// is in the kernel's page cache when its call returns, and outlives the
// process however it ends. A figure is held, in turn, by
//
//	recorded   the journal: the count's record, or the value's record
//	collected  the telemetry reader's collection of generation g: at its
//	           start (handover.BeginCollection) every count is moved into
//	           the readers' sums and marked with g; the primary producer
//	           marks the values up to the change number it reported
//	written    the update's spool file (or the carried file, for a
//	           checkpoint), stamped with g; the journal then commits g
//	delivered  the server; the spool file is deleted
//
// The next process with the same spool directory and instance claims what
// a dead one left: its spool files, and from its journal only what g's
// marks say no file holds (counts above the last committed mark, values
// numbered after it). A file stamped with g commits g even if the process
// died before it could, so a figure is in the journal or in a file, never
// in both and never in neither. Until a collection ends, the moves that
// other readers' producers start move nothing, so that the telemetry collection holds
// exactly what was marked.
//
// Native OpenTelemetry instruments on the same provider are not recorded
// here: the exporter's checkpoints put their integer sums into journal
// counts of their own (one per stream) and the rest into the spool.
//
// What the journal does not hold: native figures other than integer sums,
// a value larger than a journal record (64 KiB) or one recorded while the
// journal is full, both reported once per key and interval; and on
// platforms that cannot map files, everything (reported once).
//
// Sums wrap around as Go's int64 does: Add(k, math.MaxInt) then Add(k, 1)
// sends math.MinInt64. No recording call spins or waits on slow work: a
// new key or set member is made under a mutex held for a few map
// operations, never for I/O; later calls take no lock; a new series joins
// the handover's list with a compare-and-swap, retried only when another
// joined at the same moment; and an evicted entry's tally is drained at later collections for as long as a
// call that found it just before the eviction could still add to it (see
// series.evicted).
//
// The value a caller passes escapes to the heap: the first sighting of a
// value keeps it (a counting set's member, a held value), and encoding an
// arbitrary value as JSON calls its MarshalJSON method through an
// interface. Go's escape analysis does not tell paths apart, so a box the
// common path never keeps still escapes, and making a copy of an
// arbitrary value needs reflection, which escapes it too. The caller's
// boxing of a fresh string (one allocation) is therefore the floor, and it
// is what the realistic benchmarks measure on both sides.
//
// # Limits and errors
//
// At most MaxItems items are kept between two updates of the telemetry
// server; past that new items are dropped, and existing ones still update.
// The update then carries the number dropped under payload.KeyDropped. A
// key holds one kind per update: using a counter key as a list, or an
// unhashable AppendUnique value, is reported to the key filter's Report
// (the exporter's error handler, else otel.Handle), once per key and
// problem per update, and ignored. Set replaces any kind. Values are
// captured when recorded (maps, slices and structs as their JSON), so a
// caller may reuse what it passed.
package bridge
