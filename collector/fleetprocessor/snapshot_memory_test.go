package fleetprocessor

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// A snapshot takes memory beyond the state while it is copied, encoded
// and written: the heap's peak above the state is logged (the README's
// figure) and must stay within four times the state.
func TestASnapshotsMemoryIsBounded(t *testing.T) {
	const instances = 5_000
	tp, err := startDurable(t, durableConfig(), newStorageHost(t, t.TempDir(), false), t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	base := heapInUse()
	for i := range instances {
		tp.sendKeyed(t, fmt.Sprintf("k%d", i), instanceUpdate(i))
	}
	state := heapInUse() - base
	peak := make(chan uint64)
	stop := make(chan struct{})
	go func() { peak <- sampleHeap(stop) }()
	tp.mu.Lock()
	saved := tp.saveState()
	tp.mu.Unlock()
	size, err := tp.journal.writeSnapshot(context.Background(), saved)
	close(stop)
	over := max(<-peak, base+state) - base - state // noise may sample below the state
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instances: state %.1f MiB, snapshot %.1f MiB, the heap's peak %.1f MiB above the state (%.1f times it)",
		instances, mib(state), mib(uint64(size)), mib(over), float64(over)/float64(state))
	if over > 4*state {
		t.Errorf("a snapshot took %.1f MiB beyond a state of %.1f MiB", mib(over), mib(state))
	}
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// sampleHeap returns the largest HeapInuse seen every millisecond until
// stop: a lower bound of the peak.
func sampleHeap(stop <-chan struct{}) uint64 {
	var peak uint64
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		select {
		case <-stop:
			return peak
		case <-time.After(time.Millisecond):
		}
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
