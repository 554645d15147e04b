package spool

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/exporter/internal/streams"
	"github.com/telemetrybridge/telemetry/internal/journal"
	"github.com/telemetrybridge/telemetry/payload"
)

// readJournal reads what an orphaned journal holds that was not handed
// over, given the highest generation stamped in its owner's spool files.
// It reads the file as the spool reads any file (no links, no FIFOs,
// within journal.Size), and only as far as its records go; it returns the
// bytes it read, which count against the claim's bound whether or not the
// journal could be used.
func (s *Spool) readJournal(name string, stamped uint64) ([]convert.Entry, int, error) {
	f, err := openNoFollow(s.path(name), false)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = f.Close() }()
	if err := checkRegular(f); err != nil {
		return nil, 0, err
	}
	head := make([]byte, journal.HeaderSize)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, 0, fmt.Errorf("reading its header: %w", err)
	}
	h, err := journal.ReadHeader(head)
	if err != nil {
		return nil, 0, err
	}
	if h.Instance != s.instance {
		return nil, 0, errOtherInstance
	}
	if h.Used > journal.Size || h.Used < journal.HeaderSize {
		return nil, 0, fmt.Errorf("its records claim %d bytes, not within a journal's %d", h.Used, journal.Size)
	}
	data := make([]byte, h.Used)
	copy(data, head)
	if _, err := io.ReadFull(f, data[len(head):]); err != nil {
		return nil, len(data), fmt.Errorf("reading its records: %w", err)
	}
	figs, err := journal.Recover(data, stamped)
	if err != nil {
		return nil, len(data), err
	}
	entries, err := figureEntries(figs)
	return entries, len(data), err
}

// figureEntries turns a journal's figures into entries: the bridge's as
// journalEntries does, the native streams' as streams.Entries does, merged
// where both name one key (a native sum's points join the bridge's figure
// when their shapes agree, as they would have in one update).
func figureEntries(figs []journal.Figure) ([]convert.Entry, error) {
	var records []journal.Figure
	figs = slices.DeleteFunc(figs, func(f journal.Figure) bool {
		native := streams.IsRecord(f)
		if native {
			records = append(records, f)
		}
		return native
	})
	entries := journalEntries(figs)
	if len(records) == 0 {
		return entries, nil
	}
	native, err := streams.Entries(records)
	if err != nil {
		return nil, fmt.Errorf("damaged telemetry journal: %w", err)
	}
	merged, dropped, unmerged := convert.Merge(native, entries)
	return convert.AddDropped(merged, dropped+unmerged), nil
}

// journalEntries turns a journal's figures into the entries an update
// carries: a count per key, a counting set, the latest value, an object
// of the latest value per sub-key, a list in call order. Where one key
// holds figures of several kinds (a Set over a counter that was still
// counting), the latest call's kind wins, as it does in memory.
func journalEntries(figs []journal.Figure) []convert.Entry {
	groups := make(map[string][]journal.Figure)
	for _, f := range figs {
		groups[f.Key] = append(groups[f.Key], f)
	}
	entries := make([]convert.Entry, 0, len(groups))
	for key, fs := range groups {
		latest := slices.MaxFunc(fs, bySeq)
		fs = slices.DeleteFunc(fs, func(f journal.Figure) bool { return f.Kind != latest.Kind })
		entries = append(entries, journalEntry(key, latest.Kind, fs))
	}
	slices.SortFunc(entries, convert.ByKey)
	return entries
}

func journalEntry(key string, k journal.Kind, fs []journal.Figure) convert.Entry {
	en := convert.Entry{Key: key}
	switch k {
	case journal.KindCounter:
		var sum int64
		for _, f := range fs {
			sum += f.Count
		}
		en.Value, en.Additive = convert.Integer(sum), true
	case journal.KindMember:
		counts := make([]convert.CountedJSON, len(fs))
		for i, f := range fs {
			counts[i] = convert.CountedJSON{JSON: f.Sub, Count: f.Count}
		}
		en.Value, en.Additive = convert.CountedValues(counts), true
	case journal.KindValue:
		en.Value = convert.JSONText(slices.MaxFunc(fs, bySeq).Value)
	case journal.KindNested:
		latest := make(map[string]journal.Figure)
		for _, f := range fs {
			if cur, ok := latest[f.Sub]; !ok || f.Seq > cur.Seq {
				latest[f.Sub] = f
			}
		}
		members := make([]payload.RawMember, 0, len(latest))
		for sub, f := range latest {
			members = append(members, payload.RawMember{Name: sub, Value: f.Value})
		}
		slices.SortFunc(members, func(a, b payload.RawMember) int { return strings.Compare(a.Name, b.Name) })
		en.Value = convert.JSONObject(members)
	case journal.KindElement:
		slices.SortFunc(fs, bySeq)
		elements := make([]string, len(fs))
		for i, f := range fs {
			elements[i] = f.Value
		}
		en.Value = convert.JSONList(elements)
	}
	return en
}

func bySeq(a, b journal.Figure) int { return cmp.Compare(a.Seq, b.Seq) }
