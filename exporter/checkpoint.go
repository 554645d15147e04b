package exporter

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Checkpoints bound what a process that dies loses of the figures that
// only the SDK holds: those of native OpenTelemetry instruments on the
// Reader's provider. (The bridge's figures are in the spool's journal from
// the moment they are recorded.) While the Reader runs and its exporter
// has a spool, it collects every checkpointEvery, without ending the update
// interval, and keeps what it collected for the next update: integer sums
// in their streams' journal counts (internal/streams), which writes no file; the
// rest (float sums, gauges, histograms, the bridge's own instruments)
// merged into the carried figures and written to the spool's carried file
// before the journal's generation is committed (see Handover). A
// collection that holds nothing new for the carried file writes nothing.
//
// Cost: the SDK's collection, an atomic add per integer point, and for
// the rest a conversion and a rewrite of the carried file whole, which
// grows with what is carried. The wait after a checkpoint is at least 125
// times its duration, so that checkpoints take at most about 1 % of one
// core however large the update grows; a process then loses at most that
// wait. With 10,000 changing integer points a checkpoint takes 2-4 ms
// (BENCHMARKS.md, "Checkpoints of native instruments").

// checkpointCostFactor is the least wait after a checkpoint, in multiples
// of its duration. 100 would be 1 % of the checkpoint's own thread; the
// garbage it leaves is collected on other cores meanwhile (measured: up to
// 1.13 % of a core at -cpu 2 with 100), so the factor leaves room for it.
const checkpointCostFactor = 125

// checkpoints runs until quit is closed, Shutdown begins or ctx is done.
// It never holds Shutdown up: Shutdown waits for it (through the schedule
// loop's done) only within its deadline, and ctx, which that deadline
// cancels, bounds the collection.
func (r *Reader) checkpoints(ctx context.Context, quit <-chan struct{}) {
	t := time.NewTimer(r.checkpointEvery)
	defer t.Stop()
	var failed int // checkpoints failed in a row
	for {
		select {
		case <-t.C:
		case <-quit:
			return
		case <-r.shutdownBegun:
			return
		case <-ctx.Done():
			return
		}
		if r.shuttingDown() || r.exp.Stopped() || r.exp.closed.Load() {
			return
		}
		start := time.Now()
		errs := r.exp.quietly(func() []error { return r.checkpoint(ctx) })
		took := time.Since(start)
		failed = r.exp.noteCheckpoint(errs, failed)
		t.Reset(max(r.checkpointEvery, checkpointCostFactor*took))
	}
}

// noteCheckpoint reports the problems of a checkpoint that starts a
// streak of failed ones, and nothing more until a checkpoint succeeds
// again: at 4 a second, a full disk would fill the log. It returns the
// length of the streak.
func (e *Exporter) noteCheckpoint(errs []error, failed int) int {
	if len(errs) == 0 {
		if failed > 0 {
			e.reportOwnf("checkpoints keep figures on disk again, after %d failed", failed)
		}
		return 0
	}
	if failed == 0 {
		for _, err := range errs {
			e.reportOwn(err)
		}
		e.reportOwnf("checkpoints: more problems are not reported until one succeeds")
	}
	return failed + 1
}

// spoolQuiet gathers the problems the spool reports while a checkpoint
// runs, for the checkpoint to report (see noteCheckpoint).
type spoolQuiet struct {
	mu   sync.Mutex
	on   bool
	errs []error
}

// quietly runs f with the spool's reports gathered, and returns f's
// problems with them. A problem reported meanwhile by an update on its
// way (a concurrent delivery) is gathered too: reported with the
// checkpoint's, or held back with them during a streak of failures.
func (e *Exporter) quietly(f func() []error) []error {
	q := &e.spoolQuiet
	q.mu.Lock()
	q.on = true
	q.mu.Unlock()
	errs := f()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.on = false
	for _, err := range q.errs {
		if !slices.ContainsFunc(errs, func(e error) bool { return errors.Is(e, err) }) {
			errs = append(errs, err)
		}
	}
	q.errs = nil
	return errs
}

// reportSpool reports the problems a call to the spool returned, each on
// its own; while a checkpoint runs, they are gathered for it instead.
func (e *Exporter) reportSpool(problems ...error) {
	q := &e.spoolQuiet
	q.mu.Lock()
	if q.on {
		q.errs = append(q.errs, problems...)
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	for _, err := range problems {
		e.reportOwn(err)
	}
}
