package compat

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
)

func hostileExporter(t *testing.T, s *servertest.Server, problems *servertest.ErrorLog, spool bool) *exporter.Exporter {
	t.Helper()
	opts := []exporter.Option{exporter.WithEndpoint(s.Endpoint()), exporter.WithInstanceID(uuid.New()),
		exporter.WithRuntimeFigures(false), exporter.WithErrorHandler(problems)}
	if spool {
		opts = append(opts, exporter.WithSpool(t.TempDir()))
	}
	exp, err := exporter.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// Shutdown before Start, Start after Shutdown and Start twice neither
// panic nor hang: misuse is reported, and a client shut down before it
// started sends nothing (stopping is a no-op if never started).
func TestClientLifecycleMisuseIsReportedNotFatal(t *testing.T) {
	s := servertest.New(t)
	var problems servertest.ErrorLog
	c, err := New(hostileExporter(t, s, &problems, false))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown before Start: %v", err)
	}
	c.Start()
	c.Start()
	c.Increment("after")
	c.Reset()
	if err := c.Shutdown(ctx); err != nil && !strings.Contains(err.Error(), "shut") {
		t.Errorf("a second Shutdown: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a Start that wrongly ran would have sent by now
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d updates sent by a client shut down before it started, want none", n)
	}
	if msgs := problems.Messages(); len(msgs) == 0 {
		t.Error("Start after Shutdown was not reported")
	}

	s2 := servertest.New(t)
	var problems2 servertest.ErrorLog
	c2, err := New(hostileExporter(t, s2, &problems2, false))
	if err != nil {
		t.Fatal(err)
	}
	c2.Start()
	c2.Start()
	s2.Wait(t, 1)
	if err := c2.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if msgs := problems2.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0], "Start") {
		t.Errorf("Start twice reported %q, want one report naming Start", msgs)
	}
}
