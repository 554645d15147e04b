package fleetprocessor

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

// restore opens the storage, loads the snapshot, replays the log after it
// with the times it recorded, and writes a snapshot at once: the replayed
// records go, and a replica that crashes before its first export still
// finds its series' start timestamp. A storage that cannot be opened or
// written fails Start, since a replica that was asked to be durable and
// is not would lose figures in silence; a value that cannot be read is
// reported and left out; a log that cannot be read fails Start too.
func (p *fleetProcessor) restore(ctx context.Context, host component.Host) error {
	client, err := storageClient(ctx, host, *p.cfg.Storage, p.id)
	if err != nil {
		return err
	}
	j, saved, err := openJournal(ctx, client, p.logger)
	if err != nil {
		_ = client.Close(ctx)
		return err
	}
	if saved != nil {
		if err := p.load(saved); err != nil {
			p.logger.Error("the fleet snapshot does not hold together: the totals start again, from the log's records after it", zap.Error(err))
			if raw, err := client.Get(ctx, storageSnapshot); err == nil {
				j.keepUnreadable(ctx, raw)
			}
			p.agg, p.keys, p.start = newAggregator(p.cfg), newKeySet(p.cfg.Idempotency), p.now()
		}
		if now := p.now(); now.Before(p.start) {
			// The series keep their start: their points are stamped before
			// it until the clock catches up, which backends may refuse.
			p.logger.Warn("the clock is behind the start of the fleet series kept in the storage: was it set back?",
				zap.Time("series_start", p.start), zap.Time("now", now))
		}
	}
	began := time.Now()
	replayed, skipped, err := j.replay(ctx, p.replay)
	if err != nil {
		// The records from there on were answered: a replica that went on
		// without them would write its next records over them.
		_ = client.Close(ctx)
		return err
	}
	p.journal = j
	p.mu.Lock()
	state := p.saveState()
	p.mu.Unlock()
	size, err := j.writeSnapshot(ctx, state)
	if err != nil {
		p.journal = nil
		_ = client.Close(ctx)
		return err
	}
	p.logger.Info("fleet state restored", zap.Bool("snapshot", saved != nil), zap.Int("records_replayed", replayed),
		zap.Int("records_skipped", skipped), zap.Int("snapshot_bytes", size), zap.Duration("took", time.Since(began)),
		zap.Time("series_start", p.start))
	return nil
}

func storageClient(ctx context.Context, host component.Host, ext, self component.ID) (storage.Client, error) {
	c, ok := host.GetExtensions()[ext]
	if !ok {
		return nil, fmt.Errorf("storage: extension %s is not configured", ext)
	}
	se, ok := c.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %s is not a storage extension", ext)
	}
	client, err := se.GetClient(ctx, component.KindProcessor, self, "")
	if err != nil {
		// filestorage's file is locked while open: a second user times out.
		return nil, fmt.Errorf("storage: %s: %w (a timeout means the storage is in use: by another Collector on the same directory, "+
			"or by %s in another pipeline; each needs a storage of its own)", ext, err, self)
	}
	return client, nil
}

// load takes the state of a snapshot.
func (p *fleetProcessor) load(s *savedState) error {
	agg, err := restoreAggregator(p.cfg, s)
	if err != nil {
		return err
	}
	p.agg, p.start = agg, time.Unix(0, s.Start)
	for _, k := range s.Keys {
		p.keys.add(updateKey{k.Instance, k.Key}, k.At)
	}
	return nil
}

// replay applies one record as it was applied, at its recorded time. The
// sample is not sent again: it went on when the update came.
func (p *fleetProcessor) replay(rec record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rec.export {
		p.agg.sweep(rec.at)
		p.agg.snapshot(p.start.UnixNano(), rec.at) // what the export remembered of its series
		return nil
	}
	md, err := (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(rec.data)
	if err != nil {
		return fmt.Errorf("decoding its update: %w", err)
	}
	hashes := instanceHashes(md)
	p.apply(md, hashes, updateKey{instance: keyScope(hashes), key: rec.key}, rec.at)
	return nil
}

// saveState copies the whole state for a snapshot; p.mu is held.
func (p *fleetProcessor) saveState() *savedState {
	s := p.agg.save()
	s.Start, s.LogPos = p.start.UnixNano(), p.journal.next
	p.keys.each(func(k updateKey, at int64) {
		s.Keys = append(s.Keys, savedKey{Instance: k.instance, Key: k.key, At: at})
	})
	return s
}
