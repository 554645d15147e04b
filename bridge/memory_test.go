package bridge_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/bridge"
	"github.com/telemetrybridge/telemetry/internal/servertest"
)

func liveHeapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// Recording a million distinct keys, sub-keys or counting-set values keeps
// at most bridge.MaxItems of them, and lets them go after the updates.
// The bounds (README, "Reliability") are generous margins over what
// this test measures; it logs the figures.
func TestMemoryIsBoundedForMillionsOfDistinctItems(t *testing.T) {
	million := 1_000_000
	if raceEnabled {
		million = 2 * bridge.MaxItems // still past the limit; full size runs without -race
	}
	for name, record := range map[string]func(b *bridge.Bridge, i int){
		"keys":          func(b *bridge.Bridge, i int) { b.Increment("tls_client_hello_ua:" + strconv.Itoa(i)) },
		"sub-keys":      func(b *bridge.Bridge, i int) { b.SetNested("build", "k"+strconv.Itoa(i), i) },
		"set values":    func(b *bridge.Bridge, i int) { b.AppendUnique("user_agent", i) },
		"plain keys":    func(b *bridge.Bridge, i int) { b.Increment("k" + strconv.Itoa(i)) },
		"list elements": func(b *bridge.Bridge, i int) { b.Append("events", i) },
	} {
		t.Run(name, func(t *testing.T) {
			servertest.CaptureErrors(t)
			f := newFixture(t, nil)
			before := liveHeapMiB()
			for i := range million {
				record(f.b, i)
			}
			recorded := liveHeapMiB() - before
			got := f.update(t)
			sent := liveHeapMiB() - before
			f.update(t)
			time.Sleep(bridge.EvictionGrace)
			f.update(t) // idle for a whole interval and the grace: let go
			settled := liveHeapMiB() - before
			t.Logf("live heap over the start: %.1f MiB recorded, %.1f MiB after the update, %.1f MiB settled", recorded, sent, settled)
			if recorded > 128 || sent > 128 || settled > 48 {
				t.Errorf("live heap %.1f MiB recorded, %.1f MiB after the update (bound 128), %.1f MiB settled (bound 48)", recorded, sent, settled)
			}
			if got["telemetry.dropped_items"] == "" {
				t.Error("the update does not say that items were dropped")
			}
		})
	}
}
