// Package spool keeps on disk what must outlive the exporter's process,
// per instance: the update being sent (with its key), the figures carried
// to the next update (Carried, which holds them in memory too, and alone
// without a spool), the server's directives (disabled keys, stop), and
// the place of the journal (internal/journal) where the bridge records.
// An exporter that starts claims what exporters now gone left behind
// (ClaimOrphans): their update files, to be sent again as they are, and
// the figures of their carried files and journals.
//
// The spool stores and claims; it decides nothing about sending. Nor does
// it report: each call returns the problems it met (a file set aside, one
// left alone, items that did not fit) for the exporter to hand to its
// error handler, and an error or a flag where the caller must act (the
// figures are not on disk).
//
// Entries are kept in their stored form (convert.WriteStored); what a
// file says of itself is Meta.
package spool
