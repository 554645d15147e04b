package servertest

import (
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
)

// ErrorLog collects the errors given to it as an otel.ErrorHandler.
type ErrorLog struct {
	mu   sync.Mutex
	msgs []string
}

// Handle records err.
func (l *ErrorLog) Handle(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, err.Error())
}

// Messages returns what was recorded so far.
func (l *ErrorLog) Messages() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// CaptureErrors makes a new ErrorLog OTel's global error handler for the
// rest of t, and silences the handler afterwards.
func CaptureErrors(t testing.TB) *ErrorLog {
	l := &ErrorLog{}
	otel.SetErrorHandler(l)
	t.Cleanup(func() { otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {})) })
	return l
}
