package compat

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
)

func TestNewRefusesWhatItCannotUse(t *testing.T) {
	if c, err := New(nil); err == nil || c != nil {
		t.Errorf("New(nil) = %v, %v; want an error", c, err)
	}
	exp, err := exporter.New(exporter.WithInstanceID(uuid.New()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(exp, WithExporterOptions(exporter.WithRuntimeFigures(false)))
	if err == nil || c != nil || !strings.Contains(err.Error(), "WithExporterOptions") {
		t.Errorf("New with exporter options = %v, %v; want an error naming WithExporterOptions", c, err)
	}
}

// New wires the exporter's key filter, error handler and journal to the
// bridge, and the telemetry Reader over the exporter to Start.
func TestNewWiresTheExporterToTheBridge(t *testing.T) {
	s := servertest.New(t)
	var problems servertest.ErrorLog
	exp, err := exporter.New(exporter.WithEndpoint(s.Endpoint()), exporter.WithInstanceID(uuid.New()),
		exporter.WithRuntimeFigures(false), exporter.WithDisabledKeys("secret"),
		exporter.WithErrorHandler(&problems), exporter.WithSpool(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(exp, WithReaderOptions(exporter.WithCheckpointInterval(0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	if _, taken := exp.TakeJournal(); taken {
		t.Error("the exporter's journal is still free after New: the bridge did not take it")
	}
	// A second client over the same exporter would number its collections
	// in the same journal: New refuses it.
	if second, err := New(exp); err == nil || second != nil {
		t.Errorf("a second New over one exporter returned %v, %v; want an error", second, err)
	}
	c.Increment("n")
	c.Set("secret", "x")
	c.Append("n", 1) // a counter used as a list: reported through the exporter
	if errs := problems.Messages(); len(errs) != 1 || !strings.Contains(errs[0], `key "n"`) {
		t.Errorf("the exporter's error handler got %q, want the misuse of n", errs)
	}
	if len(s.Requests()) != 0 {
		t.Fatal("an update was sent before Start")
	}
	c.Start()
	first := s.Wait(t, 1)[0].Payload(t)
	if first.Int("n") != 1 || first.Data["secret"] != nil {
		t.Errorf("the first update holds %v, want n: 1 and no secret", first.Data)
	}
	c.Add("n", 2)
	if err := c.Reader().ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.Wait(t, 2)[1].Payload(t); got.Int("n") != 2 {
		t.Errorf("the update ForceFlush sent holds %v, want n: 2", got.Data)
	}
}
