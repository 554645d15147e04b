package fleetprocessor

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

// Without storage too, an update sent again under its key is accepted and
// not counted again, sample included; one without a key, or under another
// instance's key, is counted.
func TestAnUpdateSentAgainUnderItsKeyCountsOnce(t *testing.T) {
	cfg := testConfig()
	cfg.SampleRate = 1 // every instance in the sample, to see it too
	tp := newTestProcessor(t, cfg)
	for i := range 6 {
		tp.sendKeyed(t, updateKeyOf(i, 0), update(i, 0))
	}
	sampled := tp.sink.DataPointCount()
	tp.sendKeyed(t, updateKeyOf(2, 0), update(2, 0))                                    // resent
	if err := tp.ConsumeMetrics(withKey(updateKeyOf(2, 0)), update(3, 0)); err != nil { // another instance's key
		t.Fatal(err)
	}
	if err := tp.ConsumeMetrics(context.Background(), update(4, 0)); err != nil { // no key
		t.Fatal(err)
	}
	if got, want := tp.sink.DataPointCount()-sampled, 2*(sampled/6); got != want {
		t.Errorf("the sample got %d more points, want %d (two updates, not three)", got, want)
	}
	var want int64
	for _, i := range []int{0, 1, 2, 3, 4, 5, 3, 4} { // update(i, 0) adds killValue(i, 0)
		want += killValue(i, 0)
	}
	if got := tp.fleet(t)["fleet.updates"][key()]; got != float64(want) {
		t.Errorf("fleet.updates %v, want %v", got, want)
	}
}

// A key longer than the receiver takes is refused for good, so that the
// keys' memory stays bounded whatever comes.
func TestAnOverlongKeyIsRefused(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	err := tp.ConsumeMetrics(withKey(strings.Repeat("k", 257)), update(1, 0))
	if err == nil || !consumererror.IsPermanent(err) || !strings.Contains(err.Error(), "Idempotency-Key") {
		t.Errorf("an overlong key: %v", err)
	}
}

// The key set forgets the oldest key past max_keys and keys older than
// max_age, and remembers the rest.
func TestKeysAreBoundedInCountAndAge(t *testing.T) {
	s := newKeySet(IdempotencyConfig{MaxKeys: 100, MaxAge: time.Hour})
	at := func(m int) int64 { return t0.Add(time.Duration(m) * time.Minute).UnixNano() }
	for m := range 250 {
		s.add(updateKey{key: fmt.Sprint(m)}, at(m/10)) // 10 a minute
	}
	if len(s.at) != 100 || s.count != 100 {
		t.Fatalf("%d keys kept (%d in the ring), want 100", len(s.at), s.count)
	}
	for m, want := range map[int]bool{149: false, 150: true, 249: true} {
		if got := s.applied(updateKey{key: fmt.Sprint(m)}, at(24)); got != want {
			t.Errorf("key %d applied: %v, want %v", m, got, want)
		}
	}
	// An hour after key 200 (minute 20) was applied, keys up to 199 go.
	if s.applied(updateKey{key: "199"}, at(80)) || !s.applied(updateKey{key: "200"}, at(80)) || s.count != 50 {
		t.Errorf("after an hour: %d keys, 199 kept %v, 200 kept %v", s.count,
			s.applied(updateKey{key: "199"}, at(80)), s.applied(updateKey{key: "200"}, at(80)))
	}
	var order []string
	s.each(func(k updateKey, _ int64) { order = append(order, k.key) })
	if len(order) != 50 || order[0] != "200" || order[49] != "249" {
		t.Errorf("keys oldest first: %v", order)
	}
}

// However many keys pass, the set holds at most max_keys of them: its
// heap stays under 400 bytes a key (36-byte keys; the figure is logged).
func TestKeysMemoryIsBounded(t *testing.T) {
	const maxKeys = 20_000
	s := newKeySet(IdempotencyConfig{MaxKeys: maxKeys, MaxAge: time.Hour})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 5 * maxKeys {
		s.add(updateKey{instance: uint64(i), key: fmt.Sprintf("%036d", i)}, t0.UnixNano())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perKey := float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc)) / maxKeys
	t.Logf("%.0f bytes a key", perKey)
	if len(s.at) != maxKeys || perKey > 400 {
		t.Errorf("%d keys, %.0f bytes each: want %d, at most 400", len(s.at), perKey, maxKeys)
	}
	runtime.KeepAlive(s)
}
