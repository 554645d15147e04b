package exporter_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// A host program may record under any key, the streams' record key
// included (a key taken from its input): the journal it leaves is claimed
// all the same, with its other figures, and is not set aside as damaged.
func TestABridgeKeySpelledAsTheStreamsKeyLeavesTheJournalClaimable(t *testing.T) {
	dirA := t.TempDir()
	sA := servertest.New(t)
	sA.SetFallback(servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, err := compat.New(newExporter(t, sA, exporter.WithSpool(dirA)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
	b.Start()
	sA.Wait(t, 1)
	b.AppendUnique(exporter.StreamRecordKey, "x")
	b.Add("other", 3)

	// Process B finds A's journal as a dead process leaves it.
	sB := servertest.New(t)
	sB.SetFallback(servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	dirB := t.TempDir()
	var seen problems
	rB := exporter.NewReader(newExporter(t, sB, exporter.WithSpool(dirB), seen.option()))
	mpB := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rB))
	t.Cleanup(func() { _ = mpB.Shutdown(context.Background()) })
	copyJournal(t, instanceDir(dirA), instanceDir(dirB))
	rB.Start()
	sB.Wait(t, 1)
	got := lastData(t, sB)
	if got["other"] != "3" || len(got) != 2 {
		t.Errorf("the claim sent %v, want other: 3 and the host's counting set; reports %v", got, seen.errs)
	}
}
