package exporter

import (
	"github.com/telemetrybridge/telemetry/payload"

	"github.com/telemetrybridge/telemetry/exporter/internal/spool"
)

// noteUnmerged reports, once per exporter, that carried figures could not
// be merged with newer ones of the same key (two summaries of one
// attribute set: quantiles do not add up). They are counted under
// payload.KeyDropped, never replaced silently.
func (e *Exporter) noteUnmerged(n int) {
	if n <= 0 {
		return
	}
	e.unmergedOnce.Do(func() {
		e.reportOwnf("%d carried items could not be merged with newer figures of the same key (summaries, or sums whose shape changed) and are counted under %s; later ones are counted without a report", n, payload.KeyDropped)
	})
}

// carriedSaved reports what a change to the carried figures came to (what
// merging lost, the spool's problems) and returns its error: set when the
// figures are not on disk.
func (e *Exporter) carriedSaved(s spool.Saved) error {
	e.noteUnmerged(s.Unmerged)
	e.reportSpool(s.Problems...)
	return s.Err
}
