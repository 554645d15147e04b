package exporter_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/bridge"
	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/journal"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

func TestStreamsLeaveTheBridgesScopeToTheCarriedFile(t *testing.T) {
	if exporter.BridgeScope != bridge.ScopeName {
		t.Errorf("checkpoints take the bridge's scope to be %q; the bridge's is %q", exporter.BridgeScope, bridge.ScopeName)
	}
}

// recordStreams records integer sums of several shapes: a plain counter,
// one with attribute sets, an up-down counter that goes below zero, and a
// counting set (points with only the value attribute).
func recordStreams(t *testing.T, mp *sdkmetric.MeterProvider, times int) {
	t.Helper()
	m := mp.Meter("app")
	plain, err1 := m.Int64Counter("hits")
	routed, err2 := m.Int64Counter("requests")
	queue, err3 := m.Int64UpDownCounter("queue")
	browsers, err4 := m.Int64Counter("browsers")
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for range times {
		plain.Add(ctx, 3)
		routed.Add(ctx, 1, metric.WithAttributes(attribute.String("route", "/a"), attribute.Int("status", 200)))
		routed.Add(ctx, 2, metric.WithAttributes(attribute.String("route", "/b"), attribute.Bool("cached", true), attribute.Float64("ratio", 0.5)))
		queue.Add(ctx, -2)
		browsers.Add(ctx, 1, metric.WithAttributes(attribute.String(string(payload.AttrValue), "firefox")))
		browsers.Add(ctx, 4, metric.WithAttributes(attribute.String(string(payload.AttrValue), "lynx")))
	}
}

// Integer sums checkpoint into the journal, not the carried file, and the
// final update sends them once, in the shapes an update without
// checkpoints would have.
func TestIntegerSumsCheckpointIntoTheJournal(t *testing.T) {
	dir := t.TempDir()
	r, mp, s, count := checkpointedCounting(t, dir, 5*time.Millisecond)
	for range 3 {
		recordStreams(t, mp, 2)
		count.await(t, 1)
	}
	if got, _ := carriedFigures(t, dir); got != nil {
		t.Errorf("checkpoints of integer sums wrote the carried file: %v", got)
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Requests()); n != 2 {
		t.Fatalf("%d updates, want the first and the final", n)
	}
	expectJSON(t, lastData(t, s), map[string]string{
		"hits":     "18",
		"requests": `[{"attributes":{"cached":true,"ratio":0.5,"route":"/b"},"value":12},{"attributes":{"route":"/a","status":200},"value":6}]`,
		"queue":    "-12",
		"browsers": `[{"count":6,"value":"firefox"},{"count":24,"value":"lynx"}]`,
	})
	if names, _ := filepath.Glob(filepath.Join(instanceDir(dir), "journal-*")); len(names) > 0 {
		t.Errorf("a journal holding nothing unsent was left: %v; it holds %v", names, journalFigures(t, names[0]))
	}
}

// The journal of a process that died after its checkpoints is claimed
// back into exactly the figures that its update would have sent.
func TestOrphanedStreamsAreClaimedAsTheUpdateWouldHaveSentThem(t *testing.T) {
	dirA := t.TempDir()
	rA, mpA, sA, count := checkpointedCounting(t, dirA, 5*time.Millisecond)
	recordStreams(t, mpA, 2)
	count.await(t, 1)
	recordStreams(t, mpA, 1)
	count.await(t, 1)

	// Process B finds A's journal as a dead process leaves it.
	sB := servertest.New(t)
	sB.SetFallback(servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	dirB := t.TempDir()
	rB := exporter.NewReader(newExporter(t, sB, exporter.WithSpool(dirB)))
	mpB := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rB))
	t.Cleanup(func() { _ = mpB.Shutdown(context.Background()) })
	copyJournal(t, instanceDir(dirA), instanceDir(dirB))
	rB.Start()
	sB.Wait(t, 1)

	if err := rA.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := lastData(t, sA)
	if len(sent) != 4 {
		t.Fatalf("the live process sent %v, want 4 keys", sent)
	}
	expectJSON(t, lastData(t, sB), sent)
}

// copyJournal copies the journal in instance directory from into to, as
// an orphan's (its records are within the first MiB).
func copyJournal(t *testing.T, from, to string) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(from, "journal-*.bin"))
	if err != nil || len(names) != 1 {
		t.Fatalf("journals %v (%v), want one", names, err)
	}
	src, err := os.Open(names[0])
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Close() }()
	dst, err := os.OpenFile(filepath.Join(to, filepath.Base(names[0])), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(dst, src, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// A planted (or damaged) stream record that does not describe a stream
// makes its journal unusable, as any damaged record does: reported, set
// aside, and nothing of it sent (the valid record beside it included). A
// record that describes its stream properly is claimed.
func TestDamagedStreamRecordsAreReportedAndNotSent(t *testing.T) {
	for _, tc := range []struct{ name, desc string }{
		{"not JSON", `{"name":`},
		{"no name", `{"attrs":[]}`},
		{"unknown attribute type", `{"name":"x","attrs":[{"k":"a","t":"NOPE","v":1}]}`},
		{"value of another type", `{"name":"x","attrs":[{"k":"a","t":"INT64","v":"one"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j := plantJournal(t, dir)
			good, _ := j.NewCount(journal.KindMember, exporter.StreamRecordKey, journal.TypeJSON, []byte(`{"scope":"s","name":"fine","monotonic":true,"attrs":[]}`))
			good.Add(4)
			bad, _ := j.NewCount(journal.KindMember, exporter.StreamRecordKey, journal.TypeJSON, []byte(tc.desc))
			bad.Add(5)

			s := servertest.New(t)
			s.SetFallback(servertest.JSON(payload.Response{NextUpdate: time.Hour}))
			var seen problems
			r := exporter.NewReader(newExporter(t, s, exporter.WithSpool(dir), seen.option()))
			_ = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
			r.Start()
			s.Wait(t, 1)
			if err := r.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, req := range s.Requests() {
				if data := req.Payload(t).Data; len(data) > 0 {
					t.Errorf("sent %v from a damaged journal", data)
				}
			}
			if seen.containing("damaged telemetry journal") != 1 {
				t.Errorf("reports %v, want one of a damaged journal", seen.errs)
			}
			if _, err := os.Stat(j.Path() + ".unreadable"); err != nil {
				t.Errorf("the journal was not set aside: %v", err)
			}
		})
	}
	// The same record, described properly, is claimed.
	dir := t.TempDir()
	j := plantJournal(t, dir)
	c, _ := j.NewCount(journal.KindMember, exporter.StreamRecordKey, journal.TypeJSON, []byte(`{"scope":"s","name":"x","monotonic":true,"attrs":[{"k":"a","t":"INT64","v":1}]}`))
	c.Add(5)
	s := servertest.New(t)
	s.SetFallback(servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	r := exporter.NewReader(newExporter(t, s, exporter.WithSpool(dir)))
	_ = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	r.Start()
	s.Wait(t, 1)
	_ = r.Shutdown(context.Background())
	expectJSON(t, encodeAll(t, s.Requests()[0].Payload(t).Data), map[string]string{"x": `[{"attributes":{"a":1},"value":5}]`})
}

// journalFigures is what the journal at path holds unsent, or why that
// cannot be read.
func journalFigures(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	h, err := journal.ReadHeader(data)
	if err != nil {
		return err
	}
	figs, err := journal.Recover(data[:h.Used], 0)
	if err != nil {
		return err
	}
	return fmt.Sprintf("pending generation %d, figures %+v", h.PendingGen, figs)
}

// plantJournal creates a journal in testID's spool directory under dir, as
// a process that died would have left it.
func plantJournal(t *testing.T, dir string) *journal.Journal {
	t.Helper()
	inst := exporter.SpoolInstanceDir(dir, testID)
	if err := os.MkdirAll(inst, 0o700); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Create(filepath.Join(inst, "journal-planted.bin"), exporter.InstanceHash(testID))
	if err != nil {
		t.Fatal(err)
	}
	return j
}
