package exporter

import (
	"context"
	"errors"
	"fmt"
	"slices"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/exporter/internal/spool"
)

// The exporter's side of the spool (WithSpool): what it writes when, so
// that undelivered figures and the server's directives outlive the
// process. internal/spool has the files and their format.

// openSpool starts keeping undelivered figures on disk and obeys what the
// server told an earlier process. A directory that cannot be used is
// reported, and the exporter keeps its figures in memory only.
func (e *Exporter) openSpool() {
	s, err := spool.Open(e.cfg.spoolDir, e.cfg.instanceID, e.cfg.spoolLimit)
	if err != nil {
		e.reportOwn(fmt.Errorf("%w; undelivered figures are kept in memory only", err))
		return
	}
	e.spool = s
	e.carried.Attach(s)
	d, problems := s.LoadDirectives(maxServerKeys)
	e.reportSpool(problems...)
	e.filter.applyServer(d.Disabled, nil)
	if d.Stopped {
		e.endedByServer.Store(true)
	}
}

// claimSpooled takes over the figures that exporters now gone left in the
// spool. Their update files, which may have reached the server, become
// this exporter's pending updates, with their keys, to be sent again as
// they are; the rest (carried files, journals) is carried into this
// update. The claimed files are deleted only once all of it is saved as
// this exporter's own; if that fails, they stay, and stay locked, for a
// later process.
func (e *Exporter) claimSpooled(ctx context.Context) {
	c, release, problems := e.spool.ClaimOrphans(ctx)
	e.reportSpool(problems...)
	if len(c.Owners) == 0 {
		return
	}
	adopted, saved := e.adoptUpdates(c.Updates)
	if !saved {
		// The carried file would name the owners as absorbed while an
		// update of theirs is on disk nowhere else: leave the whole claim
		// locked, on disk, for a later process.
		return
	}
	// One save holds all that was claimed, with the owners it came from;
	// merged from the newest file back, so that the latest value of a key
	// is the one kept.
	var all []convert.Entry
	dropped := 0
	for i := len(c.Entries) - 1; i >= 0; i-- {
		var d, u int
		all, d, u = convert.Merge(all, c.Entries[i])
		dropped += d + u
	}
	if e.carriedSaved(e.carried.Absorb(convert.AddDropped(all, dropped), c.Owners)) == nil {
		e.reportSpool(release()...)
		_ = e.carriedSaved(e.carried.Absorbed())
	}
	for _, u := range adopted {
		e.pending.add(u)
	}
}

// adoptUpdates makes the update files of a process now gone updates of
// this exporter, written to files of its own (see adoptUpdate). When one
// cannot be written, none is kept: their files are removed again and
// saved is false.
func (e *Exporter) adoptUpdates(files []spool.ClaimedFile) (adopted []*update, saved bool) {
	for _, f := range files {
		if !holdsFigures(f.Entries) {
			continue // deleted with the claim: nothing in it to send again
		}
		u, onDisk := e.adoptUpdate(f)
		adopted = append(adopted, u)
		if !onDisk {
			for _, u := range adopted {
				e.reportSpool(e.spool.EndUpdate(u.spooled)...)
				e.release(u)
			}
			return nil, false
		}
	}
	return adopted, true
}

// adoptUpdate makes the update file of a process now gone an update of
// this exporter: same key (a fresh one for a file written before updates
// had keys), same figures but for keys disabled since (which a server that
// honours the key never reads again anyway), written to a file of its own.
// It reports whether that file is on disk.
func (e *Exporter) adoptUpdate(f spool.ClaimedFile) (*update, bool) {
	entries := slices.DeleteFunc(f.Entries, func(en convert.Entry) bool { return e.filter.disabled(en.Key) })
	u := &update{entries: entries, key: f.Meta.Key, maybeSeen: true, resent: true}
	if u.key == "" {
		u.key = newUpdateKey()
	}
	var problems []error
	u.entries, u.body, problems = e.buffers.Build(e.envelope(), u.entries)
	for _, p := range problems {
		e.reportOwn(p)
	}
	var onDisk bool
	u.spooled, onDisk, problems = e.spool.BeginUpdate(u.entries, spool.Meta{Key: u.key})
	e.reportSpool(problems...)
	return u, onDisk
}

// stopForGood records that the server wants nothing more from this
// instance: nothing is sent again, by this process or by a later one that
// uses the same spool, and spooled figures are deleted.
func (e *Exporter) stopForGood() {
	e.endedByServer.Store(true)
	e.pending.clear()
	e.reportSpool(e.spool.Clear()...)
	e.saveDirectives()
}

// saveDirectives saves the server's disabled keys and stop for later
// processes.
func (e *Exporter) saveDirectives() {
	e.reportSpool(e.spool.SaveDirectives(spool.Directives{Disabled: e.filter.serverKeys(), Stopped: e.endedByServer.Load()})...)
}

// spooling reports whether undelivered figures go to disk.
func (e *Exporter) spooling() bool { return e.spool != nil }

// carryToNext converts the collection of generation gen and carries it to
// the next update, as if it had failed: with a spool, it is on disk when
// this returns, and the journal hands it over. A collection that converts
// to nothing (nothing was recorded since the last) leaves the carried file
// as it is, unless the last one could not write it; its generation holds
// nothing and is committed all the same. It returns the problems met, for
// the caller to report; an error among them that wraps errNotKept means
// the figures are not on disk. Unless synced, the carried file is not
// synced (see replaceFile). kept, when given, is what the streams held
// (drainStreams), carried with the collection as older figures.
func (e *Exporter) carryToNext(rm *metricdata.ResourceMetrics, gen uint64, synced bool, kept []convert.Entry) []error {
	var entries []convert.Entry
	var problems []error
	if holdsMetrics(rm) { // runtime figures alone are not carried
		c := e.buffers.TakeConverter()
		defer e.buffers.ReturnConverter(c)
		entries, problems = e.convert(c, rm)
	}
	if len(kept) > 0 {
		var dropped, unmerged int
		entries, dropped, unmerged = convert.Merge(entries, kept)
		e.noteUnmerged(unmerged)
		entries = convert.AddDropped(entries, dropped+unmerged)
	}
	if holdsFigures(entries) || e.carriedUnsaved.Load() {
		// Checkpoints do not sync: a sync would cost more than the rest
		// of a checkpoint, and a process that dies does not need it.
		err := e.carriedSaved(e.carried.AddSynced(entries, gen, synced))
		e.carriedUnsaved.Store(err != nil)
		if err != nil {
			return append(problems, fmt.Errorf("%w: %w", errNotKept, err))
		}
	}
	if e.spooling() {
		e.commit(gen)
	}
	return problems
}

// holdsMetrics reports whether rm holds a metric.
func holdsMetrics(rm *metricdata.ResourceMetrics) bool {
	return rm != nil && slices.ContainsFunc(rm.ScopeMetrics, func(sm metricdata.ScopeMetrics) bool { return len(sm.Metrics) > 0 })
}

// errNotKept says that a checkpoint's figures are in memory only.
var errNotKept = errors.New("telemetry exporter: a checkpoint could not keep its figures on disk")

// spoolWhileInFlight keeps on disk, at once, what was recorded since the
// update that is still in flight when Shutdown begins. The final update
// waits for that one, and a server that hangs would hold it for a whole
// request timeout, longer than an exiting process lives.
func (r *Reader) spoolWhileInFlight(ctx context.Context) {
	if !r.exp.spooling() {
		return
	}
	select {
	case r.inFlight <- struct{}{}:
		<-r.inFlight // nothing in flight: the final update follows at once
		return
	default:
	}
	for _, err := range r.checkpoint(ctx) {
		r.exp.reportOwn(err)
	}
}

// checkpoint collects what was recorded since the last collection and
// keeps it on disk for the next update: integer sums in their journal
// streams (internal/streams), the rest in the carried file. It does not end the
// update interval. It returns the problems met, unreported.
func (r *Reader) checkpoint(ctx context.Context) []error {
	if err := r.collectMu.lock(ctx); err != nil {
		return []error{fmt.Errorf("keeping metrics on disk: %w", err)}
	}
	defer r.collectMu.unlock()
	c := r.collect(ctx, true)
	defer r.reused.release()
	var errs []error
	if c.err != nil {
		errs = append(errs, fmt.Errorf("collecting metrics to keep them on disk: %w", c.err))
		if errors.Is(c.err, sdkmetric.ErrReaderShutdown) {
			return errs
		}
	}
	rest := c.rm
	if s := r.exp.streams; s != nil {
		rest = s.Take(c.rm, r.exp.filter.disabled)
	}
	return append(errs, r.exp.carryToNext(rest, c.gen, false, nil)...)
}

// drainStreams drains the streams for the update of generation gen (see
// drainInto) and returns what they held as entries, converted as the
// carried file's are when a checkpoint writes them: the update merges
// them in as it merges carried figures, so that streams send what the
// carried file would have sent (a metric of the update's collection that
// gives the same key from another instrument adds to them, or replaces
// them, as it would carried figures).
func (e *Exporter) drainStreams(gen uint64) []convert.Entry {
	if e.streams == nil {
		return nil
	}
	var rm metricdata.ResourceMetrics
	e.streams.DrainInto(&rm, gen)
	if !holdsMetrics(&rm) {
		return nil
	}
	entries, problems := convert.Convert(new(convert.Converter), &rm, convert.Options{Disabled: e.filter.disabled, MetricTypes: e.cfg.metricTypes})
	for _, p := range problems {
		e.reportOwn(p)
	}
	return entries
}
