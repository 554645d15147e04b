package exporter

import (
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestDefaultRetryIsBoundedExponentialWithFullJitter(t *testing.T) {
	rc := DefaultRetry()
	if !rc.Enabled || rc.InitialInterval != 5*time.Second || rc.MaxInterval != 2*time.Minute || rc.MaxElapsedTime != 10*time.Minute {
		t.Fatalf("default retry %+v", rc)
	}
	plain := newRetryBackOff(rc, false)
	want := []time.Duration{5, 10, 20, 40, 80, 120, 120}
	for i, w := range want {
		if got := plain.next(); got != w*time.Second {
			t.Errorf("ceiling %d: %v, want %v", i+1, got, w*time.Second)
		}
	}
	// Full jitter: each wait lies between zero and its ceiling, and the
	// waits spread over it (the first's mean is about half the ceiling).
	var total time.Duration
	const n = 2000
	for range n {
		w := newRetryBackOff(rc, true).next()
		if w < 0 || w > 5*time.Second {
			t.Fatalf("first wait %v, outside [0, 5s]", w)
		}
		total += w
	}
	if mean := total / n; mean < 2*time.Second || mean > 3*time.Second {
		t.Errorf("mean first wait %v, want about 2.5s", mean)
	}
}

// The server's Retry-After is the least wait, and a wait that would pass
// MaxElapsedTime is not begun, however long the server asks for.
func TestRetryAfterIsTheLeastWaitWithinTheRetryTime(t *testing.T) {
	e := &Exporter{cfg: config{retry: DefaultRetry()}}
	b := newRetryBackOff(e.cfg.retry, true)
	a := answer{verdict: retryable, status: http.StatusServiceUnavailable, wait: 90 * time.Second}
	if w, why := e.nextWait(b, a, 1, 0, sendPolicy{}); why != "" || w < 90*time.Second {
		t.Errorf("wait %v (%s), want at least Retry-After's 90s", w, why)
	}
	a.wait = maxTooEarlyWait // the most Retry-After is read as
	if w, why := e.nextWait(b, a, 2, time.Second, sendPolicy{}); why == "" {
		t.Errorf("a wait of %v past the retry time of %v was begun", w, e.cfg.retry.MaxElapsedTime)
	}
	e.cfg.retry = RetryConfig{}
	if _, why := e.nextWait(b, answer{verdict: retryable}, 1, 0, sendPolicy{}); why == "" {
		t.Error("retries are off, yet a second attempt was planned")
	}
}

// outageSimulation replays, in virtual time, 10,000 clients whose updates
// fail together (within one second) at the start of a 5-minute outage,
// each retrying by the exporter's own back-off (nextWait) until the server
// is back. It returns the retries per one-second bin and how many clients
// gave up.
func outageSimulation(jitter bool) (perSecond map[int]int, gaveUp int) {
	const clients = 10_000
	const outage = 5 * time.Minute
	e := &Exporter{cfg: config{retry: DefaultRetry()}}
	perSecond = map[int]int{}
	for range clients {
		start := time.Duration(rand.N(int64(time.Second)))
		b := newRetryBackOff(e.cfg.retry, jitter)
		at := start
		for attempt := 1; at < outage; attempt++ {
			wait, why := e.nextWait(b, answer{verdict: retryable, unreached: true}, attempt, at-start, sendPolicy{})
			if why != "" {
				gaveUp++
				break
			}
			at += wait
			perSecond[int(at/time.Second)]++
		}
	}
	return perSecond, gaveUp
}

// peakAndMean returns the busiest second's retries and the mean rate over
// the seconds from the first retry at or after from to the last retry.
func peakAndMean(perSecond map[int]int, from int) (peak int, mean float64) {
	first, last, total := -1, 0, 0
	for sec, n := range perSecond {
		if sec < from {
			continue
		}
		peak = max(peak, n)
		total += n
		if first < 0 || sec < first {
			first = sec
		}
		last = max(last, sec)
	}
	return peak, float64(total) / float64(last-first+1)
}

// Jitter keeps the retries of a fleet that failed together from arriving
// together. Over the whole outage the busiest second is that of the first
// retries (all within the first ceiling, 5 s); once the server is back it
// hears from the fleet spread over the last ceiling (2 min), where without
// jitter the whole fleet arrives in one second.
func TestOutageRetriesAreSpreadByJitter(t *testing.T) {
	const (
		outageFactor   = 15 // stated bounds on peak / mean, with jitter
		recoveryFactor = 3
		back           = 300 // the second the server is back
	)
	jittered, gaveUp := outageSimulation(true)
	if gaveUp > 0 {
		t.Errorf("%d clients gave up within a 5-minute outage", gaveUp)
	}
	plain, _ := outageSimulation(false)
	for _, c := range []struct {
		name          string
		from, allowed int
	}{{"the whole outage", 0, outageFactor}, {"once the server is back", back, recoveryFactor}} {
		peakJ, meanJ := peakAndMean(jittered, c.from)
		peakP, meanP := peakAndMean(plain, c.from)
		t.Logf("%s: with jitter, peak %d retries/s against a mean of %.0f/s (%.1f times); without, peak %d/s against %.0f/s (%.1f times)",
			c.name, peakJ, meanJ, float64(peakJ)/meanJ, peakP, meanP, float64(peakP)/meanP)
		if float64(peakJ) > float64(c.allowed)*meanJ {
			t.Errorf("%s: with jitter the peak is %.1f times the mean, want at most %d", c.name, float64(peakJ)/meanJ, c.allowed)
		}
		// Without jitter the fleet moves as one: its peak is the fleet.
		if peakP < 10_000 || float64(peakP) < 2*float64(c.allowed)*meanP && peakP < 10*peakJ {
			t.Errorf("%s: without jitter the peak is %d/s: the simulation does not show what jitter is for", c.name, peakP)
		}
	}
}

// A config that only turns retries on, or gives intervals of 0 or less,
// waits DefaultRetry's intervals: not attempts a millisecond apart, for
// ever, against a server that is down.
func TestRetryConfigWithoutIntervalsWaitsTheDefaults(t *testing.T) {
	def := newRetryBackOff(DefaultRetry(), false)
	for _, rc := range []RetryConfig{
		{Enabled: true},
		{Enabled: true, InitialInterval: -time.Hour, MaxInterval: -time.Second},
	} {
		b := newRetryBackOff(rc, false)
		for i := range 8 {
			if got, want := b.next(), def.next(); got != want {
				t.Errorf("%+v: ceiling %d is %v, want the default's %v", rc, i+1, got, want)
			}
		}
		def = newRetryBackOff(DefaultRetry(), false)
	}
}

// Intervals near math.MaxInt64 (a caller's "no cap"), and a Backoff that
// returns one, neither panic in the host (the jittered draw overflowed)
// nor begin a wait past MaxElapsedTime (the sum with the time spent
// overflowed): waits stay within maxRetryWait.
func TestHugeRetryIntervalsStayBounded(t *testing.T) {
	const huge = time.Duration(math.MaxInt64)
	for _, rc := range []RetryConfig{
		{Enabled: true, InitialInterval: huge, MaxInterval: huge},
		{Enabled: true, InitialInterval: time.Hour, MaxInterval: huge},
		{Backoff: func(int) time.Duration { return huge }},
		{Backoff: func(int) time.Duration { return -huge }},
	} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%+v: panic: %v", rc, p)
				}
			}()
			b := newRetryBackOff(rc, true)
			for range 70 {
				if w := b.next(); w < 0 || w > maxRetryWait {
					t.Errorf("%+v: wait %v outside [0, %v]", rc, w, maxRetryWait)
				}
			}
		}()
	}
	e := &Exporter{cfg: config{retry: RetryConfig{Backoff: func(int) time.Duration { return huge }, MaxElapsedTime: time.Minute}}}
	b := newRetryBackOff(e.cfg.retry, true)
	if w, why := e.nextWait(b, answer{verdict: retryable}, 1, time.Second, sendPolicy{}); why == "" {
		t.Errorf("a wait of %v was begun within a retry time of a minute", w)
	}
}
