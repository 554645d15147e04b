package exporter

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/telemetrybridge/telemetry/payload"
)

// directives are the server's answers that must outlive the process: the
// keys it disabled, and whether it stopped reporting for good. Without
// them a restarted process would send at once what the server refused.
type directives struct {
	disabled []string
	stopped  bool
}

const (
	directivesDisabledMember = "disabled_keys"
	directivesStoppedMember  = "stopped"
)

// maxDirectivesBytes bounds directives.json, written and read: 1 MiB,
// room for the server's maxServerKeys keys at about a hundred bytes each.
// Keys longer than maxSpoolKeyLen, and those past the bound, are not kept
// on disk: they stay disabled in this process, and a later one sends them
// until the server disables them again.
const maxDirectivesBytes = 1 << 20

// saveDirectives writes d to the instance's directory; every exporter of
// the instance shares the file, and the latest answer wins.
func (s *spool) saveDirectives(d directives) {
	if s == nil || s.closed.Load() {
		return
	}
	var w payload.Writer
	w.BeginObject()
	w.Name(spoolFormatMember)
	w.Int(spoolFormat)
	w.Name(spoolInstanceMember)
	w.String(s.instance)
	w.Name(directivesStoppedMember)
	w.Bool(d.stopped)
	w.Name(directivesDisabledMember)
	w.BeginList()
	left := 0
	// Room for closing the list and the object.
	const reserve = 16
	for _, k := range d.disabled {
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
			s.report(fmt.Errorf("telemetry spool: %d keys the server disabled are not kept in %s (longer than %d bytes, or past the file's %d): "+
				"they stay disabled in this process only", left, directivesFile, maxSpoolKeyLen, maxDirectivesBytes))
		})
	}
	if err := writeAtomically(s.dir, directivesFile, w.Bytes()); err != nil {
		s.report(fmt.Errorf("telemetry spool: the server's directives are not kept for the next process: %w", err))
	}
}

// loadDirectives reads what an earlier process kept. A file that cannot be
// read is set aside, one of another instance left alone: the process then
// starts as if the server had said nothing.
func (s *spool) loadDirectives() directives {
	if s == nil {
		return directives{}
	}
	data, err := readRegular(s.path(directivesFile), maxDirectivesBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return directives{}
	}
	var d directives
	if err == nil {
		d, err = s.readDirectives(data)
	}
	switch {
	case errors.Is(err, errOtherInstance):
		s.note(directivesFile, err)
		return directives{}
	case err != nil:
		s.setAside(directivesFile, err)
		return directives{}
	}
	return d
}

// readDirectives parses the file, within maxServerKeys keys (and the few
// other values) and maxSpoolKeyLen bytes a key.
func (s *spool) readDirectives(data []byte) (directives, error) {
	top, err := payload.ParseValue(data, payload.ParseOptions{MaxValues: maxServerKeys + 16})
	if err != nil {
		return directives{}, err
	}
	obj, _ := top.(map[string]any)
	if f, _ := obj[spoolFormatMember].(float64); f != spoolFormat {
		return directives{}, fmt.Errorf("%w (format %v; this version reads %d)", errSpoolFormat, obj[spoolFormatMember], spoolFormat)
	}
	if obj[spoolInstanceMember] != s.instance {
		return directives{}, errOtherInstance
	}
	var d directives
	d.stopped, _ = obj[directivesStoppedMember].(bool)
	keys, _ := obj[directivesDisabledMember].([]any)
	for _, k := range keys {
		if k, ok := k.(string); ok && len(k) <= maxSpoolKeyLen {
			d.disabled = append(d.disabled, k)
		}
	}
	return d, nil
}
