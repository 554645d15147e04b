package spool

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/telemetrybridge/telemetry/payload"
)

// directives are the server's answers that must outlive the process: the
// keys it disabled, and whether it stopped reporting for good. Without
// them a restarted process would send at once what the server refused.
type Directives struct {
	Disabled []string
	Stopped  bool
}

const (
	directivesDisabledMember = "disabled_keys"
	directivesStoppedMember  = "stopped"
)

// maxDirectivesBytes bounds directives.json, written and read: 1 MiB,
// room for the ten thousand keys a server may disable (the exporter's
// bound) at about a hundred bytes each.
// Keys longer than maxSpoolKeyLen, and those past the bound, are not kept
// on disk: they stay disabled in this process, and a later one sends them
// until the server disables them again.
const maxDirectivesBytes = 1 << 20

// SaveDirectives writes d to the instance's directory; every exporter of
// the instance shares the file, and the latest answer wins.
func (s *Spool) SaveDirectives(d Directives) []error {
	if s == nil || s.closed.Load() {
		return nil
	}
	var n notes
	var w payload.Writer
	w.BeginObject()
	w.Name(spoolFormatMember)
	w.Int(spoolFormat)
	w.Name(spoolInstanceMember)
	w.String(s.instance)
	w.Name(directivesStoppedMember)
	w.Bool(d.Stopped)
	w.Name(directivesDisabledMember)
	w.BeginList()
	left := 0
	// Room for closing the list and the object.
	const reserve = 16
	for _, k := range d.Disabled {
		if len(k) > maxSpoolKeyLen {
			left++
			continue
		}
		mark := w.Mark()
		w.String(k)
		if len(w.Bytes())+reserve > maxDirectivesBytes {
			w.Rewind(mark)
			left++
		}
	}
	w.EndList()
	w.EndObject()
	if left > 0 {
		s.cutDirectives.Do(func() {
			n.add(fmt.Errorf("telemetry spool: %d keys the server disabled are not kept in %s (longer than %d bytes, or past the file's %d): "+
				"they stay disabled in this process only", left, directivesFile, maxSpoolKeyLen, maxDirectivesBytes))
		})
	}
	if err := writeAtomically(s.dir, directivesFile, w.Bytes()); err != nil {
		n.add(fmt.Errorf("telemetry spool: the server's directives are not kept for the next process: %w", err))
	}
	return n
}

// LoadDirectives reads what an earlier process kept. A file that cannot be
// read is set aside, one of another instance left alone: the process then
// starts as if the server had said nothing.
func (s *Spool) LoadDirectives(maxKeys int) (Directives, []error) {
	if s == nil {
		return Directives{}, nil
	}
	data, err := readRegular(s.path(directivesFile), maxDirectivesBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return Directives{}, nil
	}
	var d Directives
	if err == nil {
		d, err = s.readDirectives(data, maxKeys)
	}
	var n notes
	switch {
	case errors.Is(err, errOtherInstance):
		s.note(&n, directivesFile, err)
		return Directives{}, n
	case err != nil:
		s.setAside(&n, directivesFile, err)
		return Directives{}, n
	}
	return d, nil
}

// readDirectives parses the file, within maxKeys keys (and the few
// other values) and maxSpoolKeyLen bytes a key.
func (s *Spool) readDirectives(data []byte, maxKeys int) (Directives, error) {
	top, err := payload.ParseValue(data, payload.ParseOptions{MaxValues: maxKeys + 16})
	if err != nil {
		return Directives{}, err
	}
	obj, _ := top.(map[string]any)
	if f, _ := obj[spoolFormatMember].(float64); f != spoolFormat {
		return Directives{}, fmt.Errorf("%w (format %v; this version reads %d)", errSpoolFormat, obj[spoolFormatMember], spoolFormat)
	}
	if obj[spoolInstanceMember] != s.instance {
		return Directives{}, errOtherInstance
	}
	var d Directives
	d.Stopped, _ = obj[directivesStoppedMember].(bool)
	keys, _ := obj[directivesDisabledMember].([]any)
	for _, k := range keys {
		if k, ok := k.(string); ok && len(k) <= maxSpoolKeyLen {
			d.Disabled = append(d.Disabled, k)
		}
	}
	return d, nil
}
