package exporter

import (
	"fmt"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
)

// reportOwn reports a problem of the exporter's own that no caller can
// receive, under the exporter's prefix ("telemetry exporter: "), through
// Report.
func (e *Exporter) reportOwn(err error) {
	if !strings.HasPrefix(err.Error(), "telemetry exporter: ") {
		err = fmt.Errorf("telemetry exporter: %w", err)
	}
	e.Report(err)
}

// Report hands err, as it is (its own prefix, no other), to the exporter's
// error handler, the one given with WithErrorHandler, else to OTel's
// global one (otel.SetErrorHandler). Code that records on the exporter's
// behalf (package bridge, as compat wires it) reports through it, so that
// one handler sees every problem.
func (e *Exporter) Report(err error) {
	if e.cfg.errorHandler != nil {
		e.cfg.errorHandler.Handle(err)
		return
	}
	otel.Handle(err)
}

// reportOwnf is reportOwn of a formatted problem.
func (e *Exporter) reportOwnf(format string, args ...any) { e.reportOwn(fmt.Errorf(format, args...)) }

// failureLog keeps a failure that repeats (a server down for hours) from
// being reported on every update: a failure is reported when it first
// occurs or differs from the previous one, and the recovery is reported
// with the number of updates that failed.
type failureLog struct {
	mu     sync.Mutex
	last   string
	failed int
}

// fail notes a failed update and reports whether to report it.
func (f *failureLog) fail(err error) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed++
	msg := err.Error()
	if msg == f.last {
		return false
	}
	f.last = msg
	return true
}

// succeed notes a delivered update and returns how many failed before it,
// since the last success.
func (f *failureLog) succeed() (failedBefore int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.failed
	f.failed, f.last = 0, ""
	return n
}
