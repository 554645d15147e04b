// Package convert turns what the exporter sends into the protocol's JSON:
// a collection of the OpenTelemetry SDK (metricdata) becomes entries, one
// per key of data, and entries become the body of one update, written
// through payload.Writer.
//
//   - Convert reads a collection into entries, sorted by key, each holding
//     a Value of the shape the protocol gives the key: a number, a
//     counting set, an object of sub-keys, a list, points with their
//     attributes, histograms, summaries.
//   - Buffers.Build writes entries as an update body within
//     MaxUpdateBytes, into buffers kept from one update to the next.
//   - Merge adds carried entries (of an update that failed, a checkpoint,
//     a process now gone) to newer ones by the protocol's rules.
//   - WriteStored and ReadStored give an entry the form the spool keeps
//     it in; JSONText, JSONObject, JSONList, CountedValues and Integer
//     make the values that a journal's figures hold.
//
// Nothing here does input or output, or keeps state between calls but the
// buffers: the exporter decides when to convert, what to carry and where
// to keep it.
package convert
