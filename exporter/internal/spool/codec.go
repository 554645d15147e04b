package spool

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
	"github.com/telemetrybridge/telemetry/payload"
)

// The spool file is one JSON object:
//
//	{"format": 1, "instance": "<hash>", "gen": 12, "absorbed": ["<token>"],
//	 "entries": [
//	  {"key": "k", "kind": "number", "additive": true, "float": false,
//	   "metric_type": "", "value": <the value as an update carries it>}, ...]}
//
// gen is the latest journal generation whose figures the file holds (see
// package internal/journal): a file of the pending generation commits it
// should the process die before it could. absorbed names owners whose
// files were claimed into this one and may not be deleted yet. version,
// took and replaces keep a figure that moves between the carried file and
// an update file from being claimed from both (see Meta).
//
// Each entry is in its stored form (convert.WriteStored).
const spoolFormat = 1

// Members of a spool file.
const (
	spoolFormatMember    = "format"
	spoolInstanceMember  = "instance"
	spoolGenMember       = "gen"
	spoolAbsorbedMember  = "absorbed"
	spoolVersionMember   = "version"
	spoolTookMember      = "took"
	spoolReplacesMember  = "replaces"
	spoolUpdateKeyMember = "update_key"
	spoolEntriesMember   = "entries"
)

// writeSpool writes entries as a spool file into w, leaving out whole
// entries once the file would pass limit bytes, and returns the items of
// those left out. An entry that cannot be written is left out too.
func writeSpool(w *payload.Writer, instance string, meta Meta, entries []convert.Entry, limit int) (dropped int) {
	w.BeginObject()
	w.Name(spoolFormatMember)
	w.Int(spoolFormat)
	w.Name(spoolInstanceMember)
	w.String(instance)
	w.Name(spoolGenMember)
	w.Uint(meta.Gen)
	writeMeta(w, meta)
	w.Name(spoolEntriesMember)
	w.BeginList()
	// Room for closing the file and for the count of what was left out.
	const reserve = 256
	droppedBefore := 0
	for _, en := range entries {
		if en.Key == payload.KeyDropped { // written last, with what is left out here
			if n, ok := convert.IntegerOf(en.Value); ok {
				droppedBefore += int(n)
			}
			continue
		}
		mark := w.Mark()
		if err := convert.WriteStored(w, en); err != nil || len(w.Bytes())+reserve > limit {
			w.Rewind(mark)
			dropped += en.Value.Items()
		}
	}
	if total := droppedBefore + dropped; total > 0 {
		_ = convert.WriteStored(w, convert.Entry{Key: payload.KeyDropped, Value: convert.Integer(int64(total)), Additive: true})
	}
	w.EndList()
	w.EndObject()
	return dropped
}

// writeMeta writes the members of meta that say something (see Meta).
func writeMeta(w *payload.Writer, meta Meta) {
	if meta.Key != "" {
		w.Name(spoolUpdateKeyMember)
		w.String(meta.Key)
	}
	for _, n := range []struct {
		name string
		v    uint64
	}{{spoolVersionMember, meta.Version}, {spoolTookMember, meta.Took}} {
		if n.v != 0 {
			w.Name(n.name)
			w.Uint(n.v)
		}
	}
	w.StringsMember(spoolReplacesMember, meta.Replaces)
	w.StringsMember(spoolAbsorbedMember, meta.Absorbed)
}

// errSpoolFormat marks a file this version cannot read.
var errSpoolFormat = errors.New("not a spool file of a known format")

// Meta is what a spool file says besides its figures.
type Meta struct {
	Gen      uint64
	Absorbed []string
	// version numbers the carried file's saves; took, in an update file,
	// is the version of the carried file whose figures the update took:
	// should the process die before the carried file is rewritten without
	// them, the claim knows that file's figures are in the update.
	Version, Took uint64
	// replaces, in a carried file, names update files whose figures it
	// holds: should the process die before deleting them, the claim skips
	// them.
	Replaces []string
	// key, in an update file, is the update's key, with which it is sent
	// again (payload.HeaderIdempotencyKey).
	Key string
	// unsynced asks the save not to sync the file (replaceFile); it is not
	// written.
	Unsynced bool
}

// readSpool reads a spool file: the instance it is for, what it says of
// itself, and its entries.
func readSpool(data []byte) (instance string, meta Meta, entries []convert.Entry, err error) {
	members, err := payload.RawMembers(data)
	if err != nil {
		return "", meta, nil, err
	}
	var format int64
	var rawEntries string
	for _, m := range members {
		switch m.Name {
		case spoolFormatMember:
			format, err = parseInt(m.Value)
		case spoolInstanceMember:
			instance, err = convert.ParseString(m.Value)
		case spoolGenMember:
			meta.Gen, err = strconv.ParseUint(m.Value, 10, 64)
		case spoolAbsorbedMember:
			meta.Absorbed, err = readTokens(m.Value)
		case spoolVersionMember:
			meta.Version, err = strconv.ParseUint(m.Value, 10, 64)
		case spoolTookMember:
			meta.Took, err = strconv.ParseUint(m.Value, 10, 64)
		case spoolReplacesMember:
			meta.Replaces, err = readTokens(m.Value)
		case spoolUpdateKeyMember:
			meta.Key, err = readUpdateKey(m.Value)
		case spoolEntriesMember:
			rawEntries = m.Value
		}
		if err != nil {
			return "", meta, nil, fmt.Errorf("member %q: %w", m.Name, err)
		}
	}
	if format != spoolFormat {
		return "", meta, nil, fmt.Errorf("%w (format %d; this version reads %d)", errSpoolFormat, format, spoolFormat)
	}
	items, err := payload.RawElements([]byte(rawEntries))
	if err != nil {
		return "", meta, nil, fmt.Errorf("entries: %w", err)
	}
	for i, raw := range items {
		en, err := convert.ReadStored(raw)
		if err != nil {
			return "", meta, nil, fmt.Errorf("entry %d: %w", i, err)
		}
		entries = append(entries, en)
	}
	return instance, meta, entries, nil
}

// maxUpdateKeyLen bounds an update key read from the spool: this package
// writes 36 bytes; a longer key is not one of its own.
const maxUpdateKeyLen = 64

func readUpdateKey(raw string) (string, error) {
	key, err := convert.ParseString(raw)
	if err == nil && (len(key) > maxUpdateKeyLen || !printableASCII(key)) {
		err = fmt.Errorf("an update key of %d bytes that is not %d printable ASCII bytes at most", len(key), maxUpdateKeyLen)
	}
	return key, err
}

// printableASCII reports whether s may go in an HTTP header as it is.
func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// maxAbsorbed bounds the owners one file may name as absorbed.
const maxAbsorbed = 1024

func readTokens(raw string) ([]string, error) {
	elements, err := payload.RawElements([]byte(raw))
	if err != nil {
		return nil, err
	}
	if len(elements) > maxAbsorbed {
		return nil, fmt.Errorf("%d owners, more than %d", len(elements), maxAbsorbed)
	}
	tokens := make([]string, len(elements))
	for i, el := range elements {
		if tokens[i], err = convert.ParseString(el); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

func parseInt(raw string) (int64, error) { return strconv.ParseInt(raw, 10, 64) }
