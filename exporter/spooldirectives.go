package exporter

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

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

// saveDirectives writes d to the spool directory; every exporter of the
// instance shares the file, and the latest answer wins.
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
	w.Name(directivesDisabledMember)
	w.BeginList()
	for _, k := range d.disabled {
		w.String(k)
	}
	w.EndList()
	w.Name(directivesStoppedMember)
	w.Bool(d.stopped)
	w.EndObject()
	if err := writeAtomically(s.dir, directivesFile, w.Bytes()); err != nil {
		s.report(fmt.Errorf("telemetry spool: the server's directives are not kept for the next process: %w", err))
	}
}

// loadDirectives reads what an earlier process kept. A file that cannot be
// read is set aside: the process then starts as if the server had said
// nothing.
func (s *spool) loadDirectives() directives {
	if s == nil {
		return directives{}
	}
	data, err := os.ReadFile(s.path(directivesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return directives{}
	}
	var d directives
	if err == nil {
		d, err = s.readDirectives(data)
	}
	if err != nil {
		s.setAside(directivesFile, err)
		return directives{}
	}
	return d
}

func (s *spool) readDirectives(data []byte) (directives, error) {
	top, err := payload.ParseValue(data, payload.ParseOptions{})
	if err != nil {
		return directives{}, err
	}
	obj, _ := top.(map[string]any)
	if f, _ := obj[spoolFormatMember].(float64); f != spoolFormat {
		return directives{}, fmt.Errorf("%w (format %v; this version reads %d)", errSpoolFormat, obj[spoolFormatMember], spoolFormat)
	}
	if obj[spoolInstanceMember] != s.instance {
		return directives{}, errors.New("it belongs to another instance")
	}
	var d directives
	d.stopped, _ = obj[directivesStoppedMember].(bool)
	keys, _ := obj[directivesDisabledMember].([]any)
	for _, k := range keys {
		if k, ok := k.(string); ok {
			d.disabled = append(d.disabled, k)
		}
	}
	return d, nil
}
