package fleetprocessor

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
)

// A log that cannot be read fails Start: the records it holds were
// answered, and a replica that started without them would write its next
// records over them. Once the storage reads again, nothing is lost.
func TestALogThatCannotBeReadFailsStart(t *testing.T) {
	fail := new(atomic.Bool)
	host := newStorageHost(t, t.TempDir(), false)
	host.ext = failingStorage{Extension: host.ext, failLogReads: fail}
	ref := newTestProcessor(t, testConfig())
	run, err := startDurable(t, durableConfig(), host, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, 0, 10, t0.Add(time.Second), ref, run) // in the log only
	run.crash(t)

	fail.Store(true)
	run, err = startDurable(t, durableConfig(), host, t0.Add(time.Minute), nil)
	if err == nil {
		feed(t, 1, 10, t0.Add(61*time.Second), run) // would overwrite the unread records
		run.crash(t)
		t.Error("Start succeeded although the log could not be read")
	} else if !strings.Contains(err.Error(), "input/output error") {
		t.Errorf("Start failed without saying why: %v", err)
	} else {
		ref.clock = t0.Add(61 * time.Second)
		feed(t, 1, 10, ref.clock, ref) // the client's retries, once the replica is back
	}

	fail.Store(false)
	run, err = startDurable(t, durableConfig(), host, t0.Add(2*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	feed(t, 1, 10, t0.Add(2*time.Minute), run) // resent: counted once in all
	got := exportAll(t, t0.Add(3*time.Minute), ref, run)
	sameFleet(t, "after a failed read of the log", got[1], got[0])
}

// A Shutdown whose deadline passes while an export hangs still releases
// the storage once the export ends: a Collector that reloads its
// configuration in the same process opens the same file again.
func TestShutdownPastItsDeadlineReleasesTheStorage(t *testing.T) {
	dir := t.TempDir()
	host := newStorageHost(t, dir, false)
	cfg := durableConfig()
	cfg.ExportInterval = time.Second
	entered, release := make(chan struct{}, 1), make(chan struct{})
	next := hangingConsumer{entered: entered, release: release}
	p := newProcessor(cfg, processortest.NewNopSettings(Type), next)
	if err := p.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered: // the loop's export hangs in the next consumer
	case <-time.After(10 * time.Second):
		t.Fatal("no export within 10 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown past its deadline: %v", err)
	}
	close(release)

	var err error
	for range 5 { // filestorage gives up on a locked file after 1 s
		var again *testProcessor
		if again, err = startDurable(t, durableConfig(), host, t0, nil); err == nil {
			_ = again.Shutdown(context.Background())
			return
		}
	}
	t.Fatalf("the storage is still held after the hung export ended: %v", err)
}

// hangingConsumer takes the sample at once and hangs on the fleet export.
type hangingConsumer struct {
	entered chan struct{}
	release chan struct{}
}

func (hangingConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (h hangingConsumer) ConsumeMetrics(context.Context, pmetric.Metrics) error {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-h.release
	return nil
}

// Two processors on one storage (two pipelines with the same fleet
// processor, or two Collectors on one directory): the second fails Start
// in bounded time, saying the storage is in use, and the first goes on
// counting exactly.
func TestASecondProcessorOnTheSameStorageFailsStart(t *testing.T) {
	host := newStorageHost(t, t.TempDir(), false)
	ref := newTestProcessor(t, testConfig())
	first, err := startDurable(t, durableConfig(), host, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown(context.Background())
	feed(t, 0, 10, t0.Add(time.Second), ref, first)

	began := time.Now()
	second, err := startDurable(t, durableConfig(), host, t0, nil)
	if err == nil {
		feed(t, 1, 10, t0.Add(2*time.Second), second)
		second.crash(t)
		t.Error("a second processor started on a storage the first holds")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("the second processor's error does not say the storage is in use: %v", err)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Errorf("the second Start took %v", took)
	}
	feed(t, 1, 10, t0.Add(3*time.Second), ref, first)
	got := exportAll(t, t0.Add(time.Minute), ref, first)
	sameFleet(t, "the first processor", got[1], got[0])
}
