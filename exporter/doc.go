// Package exporter sends OpenTelemetry metrics to a server that speaks the
// instance telemetry protocol, and lets that server steer the reporting.
//
// An Exporter turns each collection into one payload.Payload (the shapes
// are listed in the payload package), POSTs it to the endpoint followed by
// the instance ID, and reads the server's payload.Response: keys it
// disables are neither sent nor, through KeyDisabled, kept by cooperating
// recorders; a stop directive, 410 Gone or 451 end reporting for good.
// Temporality is delta for every instrument, so each update carries what
// happened since the last.
//
// # Sending an update exactly once
//
// Each update gets a key when it is prepared, a random UUID sent in the
// Idempotency-Key header (payload.HeaderIdempotencyKey) and kept in the
// update's spool file. However often the update goes out, by this process
// or by the next one sending its spooled file, it goes with that key and
// the same figures, so a server that remembers the keys it took counts it
// once. Servers that do not know the header ignore it.
//
// Answers fall in four classes:
//
//   - 2xx with an empty or JSON body: delivered.
//   - 410 and 451: reporting ends for good.
//   - Any other 4xx but 408, 409 and 429: the server will never take the
//     update. Its figures are dropped, the refusal is reported (returned
//     by Export; reported once by a Reader), and the number of its items
//     goes under telemetry.dropped_items in the next update. Nothing of it
//     is carried, so one refused update cannot spoil later ones.
//   - Everything else may pass: 408, 409 (another request with the same key
//     is being handled), 429, 5xx, a 2xx whose body cannot be read (a
//     captive portal's HTML page, a truncated answer; reported at once),
//     and network errors. The update is tried again after a wait drawn
//     from zero up to a ceiling that doubles from RetryConfig's
//     InitialInterval up to MaxInterval ("full jitter"), never less than a
//     429's or 503's Retry-After, for at most MaxElapsedTime.
//
// What happens to an update the retries did not deliver depends on
// whether it can have reached the server. When no attempt got as far as a
// connection (dialling, name resolution, the proxy or the TLS handshake
// failed), the server cannot have seen it, and its figures are carried
// into the next update, merged by the protocol's rules. Otherwise it may
// have been counted: it stays pending, in memory and in its spool file,
// with its key, and goes again as it was, before any newer figures; the
// collections made meanwhile are carried, not sent, so at most the one
// update is pending (or the few a claim took from a process now gone).
// Once it is delivered, what was carried follows at once. (An update
// holding only the runtime figures is not sent again: twice means nothing,
// and they are stale.) A server that keeps failing it (409 forever, say)
// keeps it pending: newer figures wait behind it, within the carried
// bounds, rather than risk counting it twice. An update sent again from
// memory is the same body, figures of keys disabled since it was built
// included: they were recorded before the server disabled them, and a
// server that honours the key either has them already or takes them as it
// would have then. One claimed from the spool is rebuilt from its file and
// leaves such keys out, which a server that took it never reads anyway.
//
// A Reader wraps the SDK's ManualReader and collects on the server's
// schedule: Start sends the first update at once, each answer's next_update
// sets the wait before the next one (an hour and up to a minute of jitter
// when it is missing or under a second), and Shutdown sends a final update
// within the caller's deadline. The Exporter also works under any other
// reader, such as sdkmetric.NewPeriodicReader, which then sets the pace.
//
// The zero-config default sends to DefaultEndpoint, a placeholder that
// cannot resolve: every real use passes WithEndpoint and, always,
// WithInstanceID.
//
// JSON does not say whether 8 is a gauge reading or a count. For a server
// that rebuilds OpenTelemetry metrics from updates, such as the Collector
// receiver in this repository's collector module, WithMetricTypes adds the
// type of every key whose JSON would be misread (payload.MetricTypesMember).
//
// Each update is written straight from the collection through a
// payload.Writer: no map, no reflection, buffers kept from one update to
// the next; the points of an instrument keep the order of the collection,
// and each point's attributes are written once. An update takes at most
// MaxUpdateBytes (below the Collector receiver's default body limit) and
// 100,000 items; keys beyond either are left out and counted under
// telemetry.dropped_items. Carried figures merge by the protocol's rules,
// also when several updates fail at once: counts and histograms add up
// (exponential ones at the coarser scale, histograms of other bounds
// re-bucketed), sums of integers and floats as floats, gauges keep the
// newest point of each attribute set. What cannot merge (two summaries of
// one attribute set, sums whose shape changed) is counted as dropped and
// reported once, never replaced in silence.
//
// With WithSpool, undelivered figures outlive the process: each update is
// written to a file in the spool directory, with its key, before it is
// sent and removed once it is not needed, carried figures are kept there,
// and the next exporter with the same directory and instance ID sends what
// an exporter that is gone left behind: its update files again as they
// were, with their keys (a file written before updates had keys gets a
// fresh one), and its carried figures merged into its own. (A Shutdown's
// final update takes none of them over: it must keep its deadline, and
// the next process takes them.) The server's disabled keys and stop are
// kept there too. When Shutdown begins while
// an update hangs, the Reader keeps what was recorded since on disk at
// once instead of waiting for it, so that a process exiting right after
// starting to stop loses nothing. Between updates, the Reader's
// checkpoints keep the figures of native instruments there as well
// (WithCheckpointInterval): integer sums as counts in the journal, one
// per instrument and attribute set, which costs no file; float sums,
// gauges and histograms in the carried file.
//
// Problems that no caller can receive (a value that cannot be encoded, a
// failed scheduled update) go to the handler of WithErrorHandler, else to
// otel.Handle (Report hands them one); the instance ID never appears in
// them.
//
// # Where the code is
//
// This package holds the Exporter and the Reader: options, sending and
// the server's answers, retries, the key filter, checkpoints, the handover
// of collections to the journal, and what becomes of each update. Beneath
// it, each idea has a directory:
//
//   - internal/convert: a collection into entries, entries into one
//     update body; the merging of carried figures; an entry's stored form.
//   - internal/spool: what outlives the process, per instance: the
//     figures carried to the next update, the update in flight, the
//     server's directives, and the claim of what exporters now gone left
//     behind; it returns its problems, which the exporter reports.
//   - internal/streams: native integer sums kept in the journal between
//     updates by checkpoints, and their records.
package exporter
