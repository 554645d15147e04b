package exporter

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter/internal/streams"
	"github.com/telemetrybridge/telemetry/internal/journal"
)

// Handover is told of each collection a Reader makes, so that a recorder
// keeping its own figures (the bridge, in its journal) can say what each
// collection took. Collections are numbered from 1 (their generation) and
// never overlap: BeginCollection is called before the SDK collects,
// EndCollection once it returned. A checkpoint keeps figures on disk
// between updates; it does not end the update interval.
type Handover interface {
	BeginCollection(gen uint64, checkpoint bool)
	EndCollection()
}

// WithHandover tells h of each collection of the Reader.
func WithHandover(h Handover) ReaderOption {
	return readerOptionFunc(func(c *readerConfig) { c.handover = h })
}

// TakeJournal hands over the memory-mapped journal of the exporter's
// spool, where a recorder keeps what it recorded so that it outlives the
// process: nil without a spool, or where files cannot be mapped (reported
// once). Only the first caller gets it (taken is true); the generations of
// one journal follow one Reader's collections, so a second recorder over
// the same exporter must not be built.
func (e *Exporter) TakeJournal() (j *journal.Journal, taken bool) {
	if e.journalTaken.Swap(true) {
		return nil, false
	}
	return e.journal, true
}

// commit commits generation gen in the journal: its figures are in a
// spool file or delivered. Commits are made one at a time: the journal's
// Commit keeps the highest generation with a load and a store, so that two
// at once (a delivery outside the collect lock committing its older
// generation while a checkpoint commits a newer one) could leave the older
// one as the highest, and a process killed then would have the newer
// generation's marks taken as not handed over: its figures sent twice.
func (e *Exporter) commit(gen uint64) {
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	e.journal.Commit(gen)
}

// openJournal makes this exporter's journal in its spool directory.
func (e *Exporter) openJournal() {
	if e.spool == nil {
		return
	}
	j, err := journal.Create(e.spool.JournalPath(), e.spool.Instance())
	if err != nil {
		if errors.Is(err, journal.ErrUnavailable) {
			err = errors.New("telemetry journal: this platform cannot map files into memory; figures recorded since the last checkpoint are lost if the process dies")
		}
		e.reportOwn(err)
		return
	}
	e.journal = j
	e.streams = streams.NewTable(j)
}

// collection is one collection of the telemetry reader, taken under the
// Reader's collect lock and numbered for the journal.
type collection struct {
	rm  *metricdata.ResourceMetrics
	gen uint64
	err error
}

// collect takes the next collection; r.collectMu is held. The handover
// hears of it, and the journal is told which generation is under way. A
// checkpoint collects into r.reused, and releases it once done with it;
// other collections are handed on, and collect into one of their own.
func (r *Reader) collect(ctx context.Context, checkpoint bool) *collection {
	r.gens++
	c := &collection{gen: r.gens, rm: new(metricdata.ResourceMetrics)}
	if checkpoint {
		c.rm = r.reused.take()
	}
	r.exp.journal.Begin(c.gen)
	if h := r.handover; h != nil {
		h.BeginCollection(c.gen, checkpoint)
		defer h.EndCollection()
	}
	c.err = r.Reader.Collect(ctx, c.rm)
	return c
}

// Collect collects as the SDK's ManualReader does, for a caller that wants
// the figures itself: the telemetry server is not sent them, and the
// journal counts them as handed over. What checkpoints kept of integer
// sums since the last collection is added in, as an update adds it.
func (r *Reader) Collect(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	if err := r.collectMu.lock(ctx); err != nil {
		return err
	}
	defer r.collectMu.unlock()
	c := r.collect(ctx, false)
	r.exp.streams.DrainInto(c.rm, c.gen)
	*rm = *c.rm
	r.exp.commit(c.gen)
	return c.err
}

// ctxMutex is a mutex whose lock gives up when the caller's context is
// done: a collection waiting behind another that is slow (a claim of many
// orphaned files, a spool on a slow disk) must not hold Shutdown past its
// deadline.
type ctxMutex chan struct{}

func (m ctxMutex) lock(ctx context.Context) error {
	select {
	case m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m ctxMutex) unlock() { <-m }
