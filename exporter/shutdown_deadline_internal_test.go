package exporter

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

// A claim of many orphaned files holds the spool's lock for as long as
// reading them takes (TestManyLargeOrphanedJournalsKeepDeadlines plants
// 300 journals of 64 MiB). Shutdown does not wait for it past its
// context: it refuses every later write at once, returns by the deadline,
// and the locks are let go once the claim ends.
func TestShutdownKeepsItsDeadlineWhileAClaimHoldsTheSpool(t *testing.T) {
	dir := t.TempDir()
	e, err := New(WithEndpoint("http://127.0.0.1:1/v1/update/"), WithInstanceID(uuid.New()), WithSpool(dir), WithRuntimeFigures(false))
	if err != nil {
		t.Fatal(err)
	}
	if e.spool == nil {
		t.Fatal("no spool")
	}
	e.spool.mu.Lock() // a claim under way
	returned := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		returned <- e.Shutdown(ctx)
	}()
	select {
	case err := <-returned:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v, want its deadline exceeded", err)
		}
	case <-time.After(20 * time.Second):
		e.spool.mu.Unlock()
		<-returned
		t.Fatal("Shutdown with a 100 ms deadline waited for the claim under way")
	}
	// The claim goes on: what it would write now is refused.
	if err := e.spool.saveCarried([]entry{{key: "count", value: newNumber(payload.IntNumber(1)), additive: true}}, spoolMeta{}); !errors.Is(err, errSpoolClosed) {
		t.Errorf("a write after Shutdown returned: %v, want errSpoolClosed", err)
	}
	e.spool.mu.Unlock() // the claim ends; close lets go of the locks
	owner := e.spool.owner.path
	for range 2000 {
		if _, err := os.Stat(owner); errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the lock file of an exporter with no figures left stays after the claim ended")
}
