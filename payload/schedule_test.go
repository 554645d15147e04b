package payload_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

func TestSpreadStaysWithinTheJitter(t *testing.T) {
	s := payload.NewSchedule(payload.DefaultSchedule())
	seen := map[time.Duration]bool{}
	lo, hi := time.Hour, time.Duration(0)
	for range 10_000 {
		d := s.Spread(time.Hour)
		seen[d] = true
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 54*time.Minute || hi > 66*time.Minute || len(seen) < 9000 {
		t.Errorf("spread of 1h over 10,000 answers: %v .. %v, %d distinct; want ±10 %% and spread", lo, hi, len(seen))
	}
	if lo > 55*time.Minute || hi < 65*time.Minute {
		t.Errorf("spread %v .. %v does not use the ±10 %% it is given", lo, hi)
	}
	if d := s.Spread(500 * time.Millisecond); d != 500*time.Millisecond {
		t.Errorf("a next_update under 1 s (the client's default) was changed to %v", d)
	}
	for range 1000 {
		if d := s.Spread(time.Second); d < time.Second {
			t.Fatalf("spread 1 s to %v, under the second a client takes", d)
		}
	}
	if d := payload.NewSchedule(payload.ScheduleConfig{}).Spread(time.Hour); d != time.Hour {
		t.Errorf("no jitter: %v", d)
	}
}

func TestTooEarlyAllowsARestartThenRefuses(t *testing.T) {
	clock := newFakeClock()
	cfg := payload.DefaultSchedule()
	cfg.Clock = clock.Now
	s := payload.NewSchedule(cfg)
	id := uuid.New()
	step := func(after time.Duration) time.Duration {
		clock.Advance(after)
		wait := s.TooEarly(id)
		if wait == 0 {
			s.Accepted(id, time.Hour)
		}
		return wait
	}
	if w := step(0); w != 0 {
		t.Fatalf("first update ever refused: %v", w)
	}
	if w := step(10 * time.Minute); w != 0 {
		t.Errorf("a stopping process's final update refused: %v", w)
	}
	if w := step(time.Second); w != 0 {
		t.Errorf("the next process's first update refused: %v", w)
	}
	w := step(time.Second)
	if want := 30*time.Minute - time.Second; w != want {
		t.Errorf("a third early update in a row: wait %v, want %v (until half the interval)", w, want)
	}
	if w := step(w); w != 0 {
		t.Errorf("after waiting as told: %v", w)
	}
	if w := step(40 * time.Minute); w != 0 { // on time: the allowance is back
		t.Errorf("on-time update refused: %v", w)
	}
	if w1, w2 := step(time.Minute), step(time.Minute); w1 != 0 || w2 != 0 {
		t.Errorf("the allowance did not come back after an on-time update: %v %v", w1, w2)
	}
	if payload.NewSchedule(payload.ScheduleConfig{Jitter: 0.1}).TooEarly(id) != 0 {
		t.Error("a schedule without an early share refused")
	}
}

func TestScheduleMemoryIsBounded(t *testing.T) {
	const maxInstances = 100_000
	cfg := payload.DefaultSchedule()
	cfg.MaxInstances = maxInstances
	before := heapAfterGC()
	s := payload.NewSchedule(cfg)
	ids := make([]uuid.UUID, maxInstances)
	for i := range ids {
		ids[i] = uuid.New()
		s.Accepted(ids[i], time.Hour)
	}
	ids = nil
	full := heapAfterGC()
	distinct := 1_000_000
	if raceEnabled {
		distinct = 300_000 // three times the bound
	}
	for range distinct {
		s.Accepted(uuid.New(), time.Hour)
	}
	after := heapAfterGC()
	t.Logf("schedule of %d instances: %.0f bytes each; after %d instances %.1f MiB",
		maxInstances, float64(full-before)/maxInstances, distinct, float64(after-before)/(1<<20))
	if n := s.Len(); n > maxInstances || n < maxInstances/2 {
		t.Errorf("schedule remembers %d instances, bound %d", n, maxInstances)
	}
	if after > before+2*(full-before)+(8<<20) {
		t.Errorf("heap %d bytes after a million instances, %d for a full schedule", after-before, full-before)
	}
}

func TestSpreadSurvivesExtremeValues(t *testing.T) {
	for _, jitter := range []float64{math.NaN(), math.Inf(1), -1, 5} {
		s := payload.NewSchedule(payload.ScheduleConfig{Jitter: jitter})
		for range 100 {
			if d := s.Spread(time.Hour); d < time.Second || d > 2*time.Hour {
				t.Fatalf("jitter %v spread 1h to %v", jitter, d)
			}
		}
	}
	if d := payload.NewSchedule(payload.ScheduleConfig{Jitter: math.NaN()}).Spread(time.Hour); d != time.Hour {
		t.Errorf("NaN jitter spread 1h to %v, want no jitter", d)
	}
	// Spread upwards past the largest Duration, a float64 does not wrap
	// around to the lowest: the longest interval stays the longest.
	s := payload.NewSchedule(payload.ScheduleConfig{Jitter: 0.5})
	const longest = time.Duration(math.MaxInt64)
	for range 100 {
		if d := s.Spread(longest); d < longest/2 {
			t.Fatalf("spread %v to %v", longest, d)
		}
	}
}

func TestClockSetBackRefusesNoUpdate(t *testing.T) {
	clock := newFakeClock()
	cfg := payload.DefaultSchedule()
	cfg.Clock = clock.Now
	s := payload.NewSchedule(cfg)
	id := uuid.New()
	for range 3 { // a restart: two early updates, taken
		s.Accepted(id, time.Hour)
		clock.Advance(time.Minute)
	}
	clock.Advance(-24 * time.Hour) // the wall clock steps back a day
	clock.Advance(time.Hour)       // and the instance comes on time
	if wait := s.TooEarly(id); wait != 0 {
		t.Errorf("after the clock was set back a day, an on-time update is told to wait %v", wait)
	}
	s.Accepted(id, time.Hour)
	clock.Advance(time.Hour)
	if wait := s.TooEarly(id); wait != 0 {
		t.Errorf("the next on-time update is told to wait %v", wait)
	}
}
