package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/exporter/internal/spool"
	"github.com/telemetrybridge/telemetry/payload"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// An update is one collection on its way to the server: prepared
// (converted, merged with what was carried, written to the spool), sent,
// and disposed of by the answer.

// schedule is what an update tells the reader to do next.
type schedule struct {
	next time.Duration // wait before the next update
	stop bool          // send no more updates
}

// sendPolicy says how hard an update tries, and what it takes on.
type sendPolicy struct {
	// final marks the last update: it does not wait out a 429 answer, and
	// claims no files of processes now gone.
	final bool
	// abort, when closed, ends waits between attempts: the update gives up
	// after its current attempt, so that a shutdown is not held up by
	// back-off.
	abort <-chan struct{}
}

// update is a collection written as one update, ready to be sent.
type update struct {
	conv    *convert.Converter // nil for an update claimed from the spool
	body    *[]byte
	entries []convert.Entry
	spooled string // its spool file, or ""
	gen     uint64 // the latest generation it holds figures of (its collection's or its carried figures'), or 0
	// key identifies the update to the server (payload.HeaderIdempotencyKey)
	// however often it is sent, by this process or a later one.
	key string
	// maybeSeen is set once an attempt may have reached the server: the
	// figures may then go only in this update, never merged into another.
	maybeSeen bool
	// resent marks an update sent again (see pendingUpdates).
	resent bool
}

// newUpdateKey returns a fresh update key: a random UUID, opaque to the
// server.
func newUpdateKey() string { return uuid.NewString() }

// prepare builds the update of a collection and writes it to the spool;
// once it is there, the journal hands the collection of generation gen
// over to it. While an update that may have reached the server is
// pending, that one is returned instead, to be sent again, and the
// collection is carried to the update after it. A nil update means there
// is nothing to send: the exporter is shut down or stopped, or (local
// mode) the update was written out. The final update claims nothing: it
// must keep the caller's deadline, and a claim may read journals of tens
// of MiB; the next process claims what is left.
func (e *Exporter) prepare(ctx context.Context, rm *metricdata.ResourceMetrics, gen uint64, policy sendPolicy) (*update, schedule, error) {
	if e.closed.Load() {
		return nil, schedule{stop: true}, fmt.Errorf("telemetry exporter: %w", sdkmetric.ErrExporterShutdown)
	}
	if e.endedByServer.Load() {
		return nil, schedule{stop: true}, nil
	}
	var kept []convert.Entry
	if gen != 0 {
		kept = e.drainStreams(gen) // what checkpoints kept in the journal
	}
	if e.pending.empty() && !policy.final {
		e.claimSpooled(ctx) // may leave updates of a process now gone pending
	}
	if p := e.pending.take(); p != nil {
		for _, err := range e.carryToNext(rm, gen, true, kept) {
			e.reportOwn(err)
		}
		return p, schedule{}, nil
	}
	// The converter's buffers back the entries until they are written and,
	// if carried over, detached.
	u := &update{conv: e.buffers.TakeConverter(), gen: gen, key: newUpdateKey()}
	entries, problems := e.convert(u.conv, rm)
	carried, took := e.carried.Take()
	// The update holds the carried figures, and so the generation they
	// came from: stamped in its file, and handed over once it is on disk
	// or delivered. A follow-up (gen 0) that takes figures a checkpoint or
	// an update could not write to the carried file thus hands over the
	// streams that update drained into them, which nothing else would.
	u.gen = max(gen, took.Gen)
	// Figures kept before their key was disabled (by configuration or by
	// the server) are not sent.
	carried = slices.DeleteFunc(carried, func(en convert.Entry) bool { return e.filter.disabled(en.Key) })
	entries, keptDropped, keptUnmerged := convert.Merge(entries, kept)
	entries, dropped, unmerged := convert.Merge(entries, carried)
	dropped, unmerged = dropped+keptDropped, unmerged+keptUnmerged
	e.noteUnmerged(unmerged)
	var more []error
	u.entries, u.body, more = e.buffers.Build(e.envelope(), convert.AddDropped(entries, dropped+unmerged))
	problems = append(problems, more...)
	for _, p := range problems {
		e.reportOwn(p)
	}
	if e.cfg.writer != nil {
		_ = e.carriedSaved(e.carried.Taken())
		defer e.release(u)
		s, err := e.writeLocal(*u.body)
		e.commit(gen)
		return nil, s, err
	}
	var onDisk bool
	var spoolProblems []error
	u.spooled, onDisk, spoolProblems = e.spool.BeginUpdate(u.entries, spool.Meta{Gen: u.gen, Took: took.Took, Key: u.key})
	e.reportSpool(spoolProblems...)
	_ = e.carriedSaved(e.carried.Taken()) // what Take returned is in the update's file now
	if onDisk {
		e.commit(u.gen)
	}
	return u, schedule{}, nil
}

// maxFollowUps bounds the updates one deliver sends after an update sent
// again: the rest of the pending ones, then what was carried meanwhile.
const maxFollowUps = 4

// deliver sends a prepared update and follows up. Once an update sent
// again is delivered, what waited behind it goes at once, rather than an
// update interval later.
func (e *Exporter) deliver(ctx context.Context, u *update, policy sendPolicy) (schedule, error) {
	s, err := e.deliverOne(ctx, u, policy)
	for range maxFollowUps {
		if err != nil || s.stop || !u.resent || (e.pending.empty() && !e.carried.Holds()) {
			break
		}
		var next schedule
		if u, next, err = e.prepare(ctx, &metricdata.ResourceMetrics{}, 0, policy); u == nil {
			return next, err
		}
		s, err = e.deliverOne(ctx, u, policy)
	}
	return s, err
}

// deliverOne sends one update and disposes of it by the outcome: figures
// that never reached the server go with the next update; an update that
// may have reached it stays pending, file and key, to be sent again as it
// is; a refused one is dropped and counted.
func (e *Exporter) deliverOne(ctx context.Context, u *update, policy sendPolicy) (schedule, error) {
	s, out, err := e.send(ctx, u, policy)
	switch out {
	case sentOK:
		e.commit(u.gen) // delivered, should the spool have failed
	case sentRefused:
		err = e.drop(u, err)
	case sentUnreached:
		_ = e.carriedSaved(e.carried.AddUpdate(u.entries, u.gen, u.spooled))
	case sentUnsure:
		if holdsFigures(u.entries) {
			u.resent = true
			e.pending.putBack(u)
			return s, err
		}
	}
	e.reportSpool(e.spool.EndUpdate(u.spooled)...)
	e.carried.Forget(u.spooled)
	e.release(u)
	return s, err
}

// holdsFigures reports whether entries hold a figure that a server would
// count: anything but the runtime figures, measured anew for every update.
// An update without one is not sent again: it means nothing twice, and its
// runtime figures are stale.
func holdsFigures(entries []convert.Entry) bool {
	for _, en := range entries {
		if en.Key != payload.KeyGoroutines && en.Key != payload.KeyMemory {
			return true
		}
	}
	return false
}

// drop counts the items of a refused update under payload.KeyDropped in
// the next update; none of its figures is carried. why is the refusal.
func (e *Exporter) drop(u *update, why error) error {
	own, before := 0, 0
	for _, en := range u.entries {
		if n, ok := convert.IntegerOf(en.Value); ok && en.Key == payload.KeyDropped {
			before += int(n) // what the update counted as dropped before
			continue
		}
		own += en.Value.Items()
	}
	_ = e.carriedSaved(e.carried.Add(convert.AddDropped(nil, own+before), u.gen))
	e.commit(u.gen) // its figures are gone for good
	// Its own items only: a run of refusals reports each item once, while
	// the count sent on (own+before) still holds them all.
	return fmt.Errorf("%w; its %d items are dropped and counted under %s in the next update", why, own, payload.KeyDropped)
}

// release gives an update's buffers back for the next one.
func (e *Exporter) release(u *update) {
	e.buffers.ReturnBody(u.body)
	if u.conv != nil {
		e.buffers.ReturnConverter(u.conv)
	}
}

// convert converts a collection as the exporter is configured to.
func (e *Exporter) convert(c *convert.Converter, rm *metricdata.ResourceMetrics) ([]convert.Entry, []error) {
	return convert.Convert(c, rm, convert.Options{Disabled: e.filter.disabled, MetricTypes: e.cfg.metricTypes, RuntimeFigures: e.cfg.runtimeFigures})
}

// envelope is what an update built now says besides its figures.
func (e *Exporter) envelope() convert.Envelope {
	return convert.Envelope{Instance: e.cfg.instanceID.String(), Time: time.Now(), MetricTypes: e.cfg.metricTypes}
}

// writeLocal shows the payload instead of sending it. No server answers,
// so the default schedule applies.
func (e *Exporter) writeLocal(body []byte) (schedule, error) {
	var out bytes.Buffer
	if err := json.Indent(&out, body, "", "  "); err != nil {
		return schedule{next: defaultNextUpdate()}, fmt.Errorf("telemetry exporter: %w", err)
	}
	out.WriteByte('\n')
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if _, err := e.cfg.writer.Write(out.Bytes()); err != nil {
		return schedule{next: defaultNextUpdate()}, fmt.Errorf("telemetry exporter: writing the payload: %w", err)
	}
	return schedule{next: defaultNextUpdate()}, nil
}
