// Package streams keeps the figures of native integer sums (Int64Counter,
// Int64UpDownCounter, and their observable forms) that the exporter's
// checkpoints collect in the journal, not in the carried file: each
// stream (instrument and attribute set) has a count of its own there, and
// a checkpoint adds each point's delta to it, one atomic add per point,
// writing no file (Table.Take). The update that follows drains the counts
// (Table.DrainInto), merges them into its figures as it merges carried
// ones, and marks them with its generation before its file is written;
// the journal then commits them as it commits the bridge's counts (see
// internal/journal, "Handing figures over"). A process that dies leaves
// the counts to the next one, which claims what no spool file holds
// (IsRecord, Entries).
//
// The rest keeps the carried file, for reasons of the journal's form: a
// journal count is an int64 that only adds, so float sums (no exact int64
// form), gauges (a latest value, not a sum), histograms and exponential
// histograms (sums, but also a minimum and a maximum, which do not add)
// have no count to live in. So do points that cannot have one: an
// attribute set of a type the stream's record cannot spell (bytes, nested
// slices, maps, an empty value, a number JSON cannot carry, text that is
// not UTF-8), any point met while the journal is full, and points of
// streams past the streams' share of the journal (streamBudget).
//
// Streams tell attribute sets apart by attribute.Distinct, the 64-bit hash
// by which the SDK's own aggregations tell them apart: two sets that the
// SDK would add up as one are one stream here too.
//
// The bridge's own instruments stay on the carried path too: the bridge
// keeps their counts in the journal already, marked with the checkpoint's
// generation when the checkpoint collects them. Adding them to streams
// would hold them twice until the generation commits, which takes one
// store after ten thousand adds: a process killed in between would have
// them sent twice. The carried file, stamped with the generation, holds
// them and commits it in one rename.
package streams
