package fleetprocessor

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// readFailingStorage is filestorage whose reads of log records fail while
// fail is set: a disk that errs on a read, or a storage that times out.
type readFailingStorage struct {
	extension.Extension
	fail *atomic.Bool
}

func (f readFailingStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := f.Extension.(storage.Extension).GetClient(ctx, kind, id, name)
	return readFailingClient{c, f.fail}, err
}

type readFailingClient struct {
	storage.Client
	fail *atomic.Bool
}

func (c readFailingClient) Get(ctx context.Context, key string) ([]byte, error) {
	if c.fail.Load() && strings.HasPrefix(key, storageLog) {
		return nil, errors.New("input/output error")
	}
	return c.Client.Get(ctx, key)
}

// A log that cannot be read fails Start: the records it holds were
// answered, and a replica that started without them would write its next
// records over them. Once the storage reads again, nothing is lost.
func TestALogThatCannotBeReadFailsStart(t *testing.T) {
	fail := new(atomic.Bool)
	host := newStorageHost(t, t.TempDir(), false)
	host.ext = readFailingStorage{host.ext, fail}
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
