package spool

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter/internal/convert"
)

// Close keeps its caller's deadline (Shutdown's) while a claim of many
// orphaned files holds the spool: it refuses every later write at once,
// and lets go of the locks once the claim ends.
func TestCloseKeepsItsDeadlineWhileAClaimHoldsTheSpool(t *testing.T) {
	s, err := Open(t.TempDir(), uuid.New(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock() // a claim under way
	returned := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		s.Close(ctx)
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(20 * time.Second):
		s.mu.Unlock()
		<-returned
		t.Fatal("Close with a 100 ms deadline waited for the claim under way")
	}
	// The claim goes on: what it would write now is refused.
	if _, err := s.SaveCarried([]convert.Entry{{Key: "count", Value: convert.Integer(1), Additive: true}}, Meta{}); !errors.Is(err, ErrClosed) {
		t.Errorf("a write after Close returned: %v, want ErrClosed", err)
	}
	s.mu.Unlock() // the claim ends; close lets go of the locks
	owner := s.owner.path
	for range 2000 {
		if _, err := os.Stat(owner); errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the lock file of an exporter with no figures left stays after the claim ended")
}
