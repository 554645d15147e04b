package bridge

// Review tests of the series' latest changes (58b0e05, c693ac0, 61e5e0a):
// the eviction grace, the bound on series kept for other readers, when a
// producer stalls, a late producer's join, the successor chain and
// WithDeltaReader. They use the helpers of series_hostile_test.go and
// internal_test.go, and count both what a reader lost and what it was
// given twice.

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// separateReader returns a ManualReader over b.Producer() on a provider
// of its own, as a program with a second MeterProvider has.
func separateReader(t *testing.T, b *Bridge) *sdkmetric.ManualReader {
	t.Helper()
	mr := sdkmetric.NewManualReader(sdkmetric.WithProducer(b.Producer()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(mr))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mr
}

// noNegative fails for every point of rm below zero: the tests below add
// only positive amounts, so a negative sum is a join gone wrong.
func noNegative(t *testing.T, who string, rm *metricdata.ResourceMetrics) {
	t.Helper()
	for name, sum := range intSums(rm) {
		for _, p := range sum.DataPoints {
			if p.Value < 0 {
				t.Errorf("%s: %s is %d, below zero", who, name, p.Value)
			}
		}
	}
}

// evictKey evicts key's entry as the sweep does and returns it (what a
// call in flight holds).
func evictKey(b *Bridge, key string) *entry {
	e, _ := b.entries.load(key)
	b.mu.Lock()
	b.evict(e)
	b.mu.Unlock()
	return e
}

// A producer made late (Bridge.Producer) reports exactly what was added
// after it was made, never a sum below zero, whatever happened around its
// join: the key's series evicted before or after it, the key made anew
// before or after (the new series still unadopted when it joins), late
// adds on the evicted series before or after it, telemetry updates in
// between. The readers made with the bridge and the server get every add
// once. Steps: J join, E evict k, M Add(k, 2) (a new series), L a late
// add of 7 on the evicted series, F a telemetry update, C the readers
// collect.
func TestReviewLateProducerJoinAroundEviction(t *testing.T) {
	for _, steps := range []string{"JEMLC", "EJMLC", "EMJLC", "EMLJC", "EMLJFC", "JFEFFMLC", "EMFJLFC", "EMCLJC", "JEMCFLC"} {
		t.Run(steps, func(t *testing.T) {
			s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
			b, r, cum, delta := withReaders(t, s)
			var late *sdkmetric.ManualReader
			lateCums := newCumulative(t)
			cums := newCumulative(t)
			var deltaK, all, sinceJoin int64
			add := func(n int64) {
				all += n
				if late != nil {
					sinceJoin += n
				}
			}
			b.Add("k", 3)
			add(3)
			flushes(t, r, 1) // moved: in the readers' sums
			b.Add("k", 5)    // undrained
			add(5)
			var old *series
			see := func() {
				rm := collect(t, cum)
				noNegative(t, "cumulative", rm)
				cums.see(rm)
				rm = collect(t, delta)
				noNegative(t, "delta", rm)
				deltaK += total(pointsIn(rm, "k"))
				if late != nil {
					rm := collect(t, late)
					noNegative(t, "late producer", rm)
					if d := duplicateStreams(rm); len(d) > 0 {
						t.Errorf("the late producer got a stream twice: %v", d)
					}
					lateCums.see(rm)
				}
			}
			for _, step := range steps {
				switch step {
				case 'J':
					late = separateReader(t, b)
				case 'E':
					old = evictKey(b, "k").counter
				case 'M':
					b.Add("k", 2)
					add(2)
				case 'L':
					old.add(7)
					add(7)
				case 'F':
					flushes(t, r, 1)
				case 'C':
					see()
				}
			}
			if got := lateCums.total("k"); got != sinceJoin {
				t.Errorf("the late producer counts k=%d, want %d (what was added after it was made)", got, sinceJoin)
			}
			for range 3 { // the evicted series is let go meanwhile
				flushes(t, r, 1)
				see()
			}
			if got := lateCums.total("k"); got != sinceJoin {
				t.Errorf("in the end the late producer counts k=%d, want %d", got, sinceJoin)
			}
			if got := cums.total("k"); got != all {
				t.Errorf("the cumulative reader counts k=%d, want %d", got, all)
			}
			if deltaK != all {
				t.Errorf("the delta reader's k adds up to %d, want %d", deltaK, all)
			}
			if got := int64(sentTotal(t, s, "k")); got != all {
				t.Errorf("the server got k=%d, want %d", got, all)
			}
		})
	}
}

// A producer made while a telemetry collection is under way (between
// BeginCollection, which moved the tallies, and EndCollection) starts
// empty too, and its first report during the collection is nothing: what
// was recorded before it is in no sum of its, what was recorded after it
// reaches it at its next report.
func TestReviewProducerMadeDuringATelemetryCollection(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r, cum, _ := withReaders(t, s)
	b.Add("k", 5)
	b.AppendUnique("u", "a")
	b.hand.BeginCollection(1000, true) // a checkpoint: moves and marks, ends no interval
	b.Add("k", 4)                      // after the move: undrained
	late := separateReader(t, b)
	if rm := collect(t, late); len(pointsIn(rm, "k"))+len(pointsIn(rm, "u")) != 0 {
		t.Errorf("during the collection the late producer reported k=%v u=%v, want nothing", pointsIn(rm, "k"), pointsIn(rm, "u"))
	}
	b.Add("k", 1)
	b.AppendUnique("u", "a")
	b.hand.EndCollection()
	rm := collect(t, late)
	noNegative(t, "late producer", rm)
	if got := total(pointsIn(rm, "k")); got != 1 {
		t.Errorf("the late producer has k=%d, want 1", got)
	}
	if got := total(pointsIn(rm, "u")); got != 1 {
		t.Errorf("the late producer has u=%d, want 1", got)
	}
	if got := total(pointsIn(collect(t, cum), "k")); got != 10 {
		t.Errorf("the cumulative reader has k=%d, want 10", got)
	}
	flushes(t, r, 1)
	if got := sentTotal(t, s, "k"); got != 10 {
		t.Errorf("the server got k=%d, want 10", got)
	}
}

// A producer stalls only when it is more than stalledAfter intervals AND
// more than stalledAfterTime behind: either alone keeps it.
func TestReviewStallNeedsIntervalsAndTime(t *testing.T) {
	c := newIntervals()
	for range 50 {
		c.advance()
	}
	now := c.now()
	for _, tc := range []struct {
		behind uint64
		idle   time.Duration
		want   bool
	}{
		{0, time.Hour, false},
		{stalledAfter, time.Hour, false},
		{stalledAfter + 1, time.Hour, true},
		{stalledAfter + 1, stalledAfterTime - time.Second, false},
		{49, time.Minute, false},
		{49, stalledAfterTime + time.Second, true},
	} {
		var p position
		p.interval.Store(now - tc.behind)
		p.at.Store(time.Now().Add(-tc.idle).UnixNano())
		if got := c.stalled(&p); got != tc.want {
			t.Errorf("%d intervals and %v behind: stalled = %v, want %v", tc.behind, tc.idle, got, tc.want)
		}
	}
	var ahead position // a producer that reported in an interval the clock has not reached
	ahead.interval.Store(now + 5)
	ahead.at.Store(time.Now().Add(-time.Hour).UnixNano())
	if c.stalled(&ahead) {
		t.Error("a producer ahead of the clock reads as stalled")
	}
}

// Through the bridge: evicted members wait for another reader that is far
// behind in intervals (Resets, quick updates) but collected recently, and
// for one that has not collected for an hour but is only stalledAfter
// intervals behind; the reader then gets each of them once.
func TestReviewEvictedSeriesWaitUnlessBothBehind(t *testing.T) {
	for _, how := range []string{"many intervals", "long ago"} {
		t.Run(how, func(t *testing.T) {
			s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
			b, r, other := withOther(t, s)
			b.evictionGrace = 0 // only the readers keep the members
			points(t, other, "agents")
			for i := range 20 {
				b.AppendUnique("agents", strconv.Itoa(i))
			}
			if how == "many intervals" {
				for range 30 {
					b.Reset() // ends intervals; the server gets nothing
				}
			} else {
				flushes(t, r, stalledAfter+1) // evicted, and the interval ended
				p := &b.producers[1].reported
				p.at.Store(time.Now().Add(-time.Hour).UnixNano())
				p.interval.Store(b.intervals.now() - 1) // stalledAfter behind once the next update ends the interval
			}
			flushes(t, r, 1)
			if n := evictedSeries(b); n != 20 {
				t.Fatalf("%d evicted members kept, want 20", n)
			}
			pts := points(t, other, "agents")
			if len(pts) != 20 || total(pts) != 20 {
				t.Errorf("the reader got %d members worth %d, want 20 worth 20", len(pts), total(pts))
			}
			flushes(t, r, 1)
			if n := evictedSeries(b); n != 0 {
				t.Errorf("%d evicted members kept once the reader reported them", n)
			}
			if pts := points(t, other, "agents"); len(pts) != 0 {
				t.Errorf("the reader got the freed members again: %v", pts)
			}
		})
	}
}

// The bound on series kept only for other readers: with a cumulative and
// a delta reader that do not collect while 30 counters are counted and
// evicted, no more than maxWaiting evicted series are kept (lowered to 10
// so that the test need not make 100,000 keys), the telemetry server gets
// every count, and the readers then get the kept ones exactly once, and
// nothing of the freed ones.
func TestReviewWaitingSeriesAreBounded(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r, cum, delta := withReaders(t, s)
	b.evictionGrace = 0 // the test is about the bound, not the grace
	b.maxWaiting = 10
	collect(t, cum)
	collect(t, delta)
	var want int64
	for i := range 30 {
		b.Add("k"+strconv.Itoa(i), i+1)
		want += int64(i + 1)
	}
	flushes(t, r, stalledAfter+2)
	if n := evictedSeries(b); n != 10 {
		t.Fatalf("%d evicted series kept, want 10 (maxWaiting)", n)
	}
	kept := map[string]int64{}
	b.hand.mu.Lock()
	for _, s := range b.hand.all {
		kept[s.name] = s.others[0].value
	}
	b.hand.mu.Unlock()
	for i := 20; i < 30; i++ { // all evicted in one sweep: the oldest, k0 to k19, go first
		if _, ok := kept["k"+strconv.Itoa(i)]; !ok {
			t.Errorf("k%d was let go before older series", i)
		}
	}
	var keptSum int64
	for name, v := range kept {
		i, _ := strconv.Atoi(strings.TrimPrefix(name, "k"))
		if v != int64(i+1) {
			t.Errorf("kept %s with %d for the cumulative reader, want %d", name, v, i+1)
		}
		keptSum += v
	}
	cums := newCumulative(t)
	cums.see(collect(t, cum))
	rm := collect(t, delta)
	var cumSum, deltaSum int64
	for i := range 30 {
		name := "k" + strconv.Itoa(i)
		c, d := cums.total(name), total(pointsIn(rm, name))
		if _, ok := kept[name]; !ok && (c != 0 || d != 0) {
			t.Errorf("%s was freed but a reader got it: cumulative %d, delta %d", name, c, d)
		}
		cumSum += c
		deltaSum += d
	}
	if cumSum != keptSum || deltaSum != keptSum {
		t.Errorf("the readers got %d (cumulative) and %d (delta), want the kept %d", cumSum, deltaSum, keptSum)
	}
	flushes(t, r, 1)
	if n := evictedSeries(b); n != 0 {
		t.Errorf("%d evicted series kept once every reader reported them", n)
	}
	rm = collect(t, delta)
	for i := range 30 {
		if pts := pointsIn(rm, "k"+strconv.Itoa(i)); len(pts) != 0 {
			t.Errorf("the delta reader got k%d again: %v", i, pts)
		}
	}
	for i := range 30 {
		if got := sentTotal(t, s, "k"+strconv.Itoa(i)); got != i+1 {
			t.Errorf("the server got k%d=%d, want %d", i, got, i+1)
		}
	}
}

// A reader that never collects, round after round of fresh keys that go
// idle: the series kept for it stay within maxWaiting (lowered to 50) plus
// those evicted too recently to be let go, whatever the number of rounds.
func TestReviewANeverCollectingReaderHoldsBoundedSeries(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r, _ := withOther(t, s)
	b.evictionGrace = 0
	b.maxWaiting = 50
	most := 0
	for round := range 40 {
		for i := range 100 {
			b.Increment(fmt.Sprintf("r%d:%d", round, i))
		}
		flushes(t, r, 1)
		b.hand.mu.Lock()
		most = max(most, len(b.hand.all))
		b.hand.mu.Unlock()
	}
	// live (this round's 100), evicted in the interval just ended (100),
	// evicted before it and not yet committed (100), and 50 waiting.
	if most > 350 {
		t.Errorf("the bridge held up to %d series, want at most 350", most)
	}
	if got := sentTotal(t, s, "r39:99"); got != 1 {
		t.Errorf("the server got r39:99=%d, want 1", got)
	}
}

// newSpooledReaders is withReaders with a spool (a journal), so that
// freed series give their records back.
func newSpooledReaders(t *testing.T, s *servertest.Server) (b *Bridge, r *exporter.Reader, cum, delta *sdkmetric.ManualReader) {
	t.Helper()
	exp, err := exporter.New(exporter.WithEndpoint(s.Endpoint()), exporter.WithInstanceID(uuid.New()),
		exporter.WithRuntimeFigures(false), exporter.WithSpool(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	b, r, err = throughExporter(exp,
		WithReader(func(p sdkmetric.Producer) sdkmetric.Reader {
			cum = sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
			return cum
		}),
		WithDeltaReader(func(p sdkmetric.Producer) sdkmetric.Reader {
			delta = sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
			return delta
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown(context.Background()) })
	return b, r, cum, delta
}

// With a spool, an evicted counter is kept for the whole grace however
// many updates go out meanwhile (lowered to 400 ms so that the test stays
// short; the rule is the same at 2 s): a call suspended across 20 quick
// updates still counts under its own key, not under the keys made
// meanwhile (which would take the record, were it freed), and every
// reader gets it once. After the grace it is let go, but not while an add
// waits in its tally.
// Without a spool the counts live in memory, where only the check of the
// tally (Undrained), not the journal's Committed, keeps the late add.
func TestReviewGraceKeepsTheRecordAcrossQuickUpdates(t *testing.T) {
	for _, spool := range []bool{true, false} {
		t.Run("spool="+strconv.FormatBool(spool), func(t *testing.T) { testGraceAcrossQuickUpdates(t, spool) })
	}
}

func testGraceAcrossQuickUpdates(t *testing.T, spool bool) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	var b *Bridge
	var r *exporter.Reader
	var cum, delta *sdkmetric.ManualReader
	if spool {
		b, r, cum, delta = newSpooledReaders(t, s)
	} else {
		b, r, cum, delta = withReaders(t, s)
	}
	b.evictionGrace = 400 * time.Millisecond
	var deltaHits int64
	cums := newCumulative(t)
	see := func() {
		cums.see(collect(t, cum))
		deltaHits += total(pointsIn(collect(t, delta), "hits"))
	}
	b.Increment("hits")
	flushes(t, r, 1)
	see()
	found := evictKey(b, "hits").counter // a call in flight holds it
	evictedAt := time.Now()
	for i := range 20 {
		b.Increment("new" + strconv.Itoa(i)) // new records, freed ones first
		flushes(t, r, 1)
		see()
	}
	isKept := func() bool {
		b.hand.mu.Lock()
		defer b.hand.mu.Unlock()
		for _, s := range b.hand.all {
			if s == found {
				return true
			}
		}
		return false
	}
	if time.Since(evictedAt) < b.evictionGrace && !isKept() {
		t.Fatal("the evicted counter was let go within the grace")
	}
	found.add(5) // the suspended call
	b.Increment("newcomer")
	flushes(t, r, 1)
	see()
	time.Sleep(time.Until(evictedAt.Add(b.evictionGrace)))
	found.add(2) // later still, but before the next drain: not freed with it
	flushes(t, r, 1)
	see()
	flushes(t, r, 2)
	see()
	if isKept() {
		t.Error("the evicted counter is kept after the grace, drained and committed")
	}
	if got := sentTotal(t, s, "hits"); got != 8 {
		t.Errorf("the server got hits=%d, want 8", got)
	}
	if got := sentTotal(t, s, "newcomer"); got != 1 {
		t.Errorf("the server got newcomer=%d, want 1", got)
	}
	for i := range 20 {
		if got := sentTotal(t, s, "new"+strconv.Itoa(i)); got != 1 {
			t.Errorf("the server got new%d=%d, want 1", i, got)
		}
	}
	if got := cums.total("hits"); got != 8 {
		t.Errorf("the cumulative reader counts hits=%d, want 8", got)
	}
	if deltaHits != 8 {
		t.Errorf("the delta reader's hits add up to %d, want 8", deltaHits)
	}
}

// A chain of three series of one key (s1 evicted, s2 took over and was
// evicted, s3 live): while s1 is kept, s2 is kept too even once its own
// grace has passed (61e5e0a: s1's late counts go to its heir, s3, through
// s2), and the late adds on both reach s3; once s1 may go, s2 follows in
// the same pass. Every reader gets each add once, as one stream. The
// grace is set to an hour and each series' eviction time is moved back
// to end its grace, so that the test picks which series may go.
func TestReviewSuccessorChainFreedInOrder(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r, cum, delta := newSpooledReaders(t, s)
	b.evictionGrace = time.Hour
	graceOver := func(s *series) { s.evictedAt.Store(time.Now().Add(-2 * time.Hour).UnixNano()) }
	cums := newCumulative(t)
	var deltaHits int64
	see := func() {
		rm := cums.seeBoth(cum, delta)
		deltaHits += total(pointsIn(rm, "hits"))
	}
	kept := func(ss ...*series) int {
		b.hand.mu.Lock()
		defer b.hand.mu.Unlock()
		n := 0
		for _, s := range b.hand.all {
			for _, x := range ss {
				if s == x {
					n++
				}
			}
		}
		return n
	}
	want := int64(0)
	b.Add("hits", 1)
	want++
	flushes(t, r, 1)
	see()
	s1 := evictKey(b, "hits").counter
	b.Add("hits", 10) // s2
	want += 10
	see() // s2 adopted: s1 hands over
	s2 := evictKey(b, "hits").counter
	b.Add("hits", 100) // s3
	want += 100
	see()
	graceOver(s2) // s2 could go, but for s1
	for i := range 4 {
		s1.add(1000)
		s2.add(1)
		b.Add("hits", 10_000) // s3 stays live
		want += 11_001
		flushes(t, r, 1)
		see()
		if n := kept(s1, s2); n != 2 {
			t.Fatalf("round %d: %d of s1 and s2 kept, want both (s1 is within its grace)", i, n)
		}
		b.hand.mu.Lock()
		heir := s1.heir()
		b.hand.mu.Unlock()
		if heir == s1 || heir == s2 || heir.evicted.Load() != 0 {
			t.Errorf("round %d: s1's heir is an evicted series", i)
		}
	}
	graceOver(s1)
	flushes(t, r, 2)
	see()
	if n := kept(s1, s2); n != 0 {
		t.Errorf("%d series of the chain kept after their grace, drained and committed", n)
	}
	if got := int64(sentTotal(t, s, "hits")); got != want {
		t.Errorf("the server got hits=%d, want %d", got, want)
	}
	if got := cums.total("hits"); got != want {
		t.Errorf("the cumulative reader counts hits=%d, want %d", got, want)
	}
	if n := len(cums.last["hits{}"]); n != 1 {
		t.Errorf("the cumulative reader saw hits with %d StartTimes, want 1", n)
	}
	if deltaHits != want {
		t.Errorf("the delta reader's hits add up to %d, want %d", deltaHits, want)
	}
}

// A delta reader's points tile time: each starts when the reader's
// previous collection ended, across evictions, successors, Resets and
// the telemetry updates in between, and they add up to what was added.
func TestReviewDeltaPointsAreContiguous(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r, _, delta := withReaders(t, s)
	var prev time.Time
	var got, want int64
	for round := range 12 {
		b.Add("k", round+1)
		b.AppendUnique("u", round%2)
		want += int64(round + 1)
		switch round % 3 {
		case 0:
			flushes(t, r, 2) // idle next round: evicted
		case 1:
			b.Reset()
		case 2:
			evictKey(b, "k")
			b.Add("k", 1) // a successor
			want++
		}
		rm := collect(t, delta)
		var ended time.Time
		for name, sum := range intSums(rm) {
			if sum.Temporality != metricdata.DeltaTemporality {
				t.Errorf("%s: temporality %v, want delta", name, sum.Temporality)
			}
			for _, p := range sum.DataPoints {
				if !prev.IsZero() && !p.StartTime.Equal(prev) {
					t.Errorf("round %d: %s starts at %v, the previous collection ended at %v", round, name, p.StartTime, prev)
				}
				if p.Time.Before(p.StartTime) {
					t.Errorf("round %d: %s ends before it starts", round, name)
				}
				ended = p.Time
			}
		}
		if !ended.IsZero() {
			prev = ended
		}
		got += total(pointsIn(rm, "k"))
	}
	if got != want {
		t.Errorf("the delta reader's k adds up to %d, want %d", got, want)
	}
}

// Bridge.Producer called from many goroutines while keys are recorded,
// go idle and are evicted, the telemetry reader updates and Resets, the
// readers collect, and finally Shutdown comes amid it all: nothing
// deadlocks (b.mu then hand.mu), no producer ever reports a sum below
// zero, each producer's reader (read as a backend reads it) ends up with
// at least what was added after it was made and nothing of what was added
// before Producer was called.
func TestReviewProducersAmidCollectionsSweepsAndShutdown(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	b, r, cum, delta := withReaders(t, s)
	ctx := context.Background()
	const makers, recorders, perRecorder, keys = 8, 4, 20_000, 4
	var started, finished atomic.Int64
	var stop atomic.Bool
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			buf := make([]byte, 1<<20)
			panic("deadlock?\n" + string(buf[:runtime.Stack(buf, true)]))
		}
	}()
	var bg sync.WaitGroup
	var evictions atomic.Int64
	bg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			if i%5 == 4 {
				b.Reset()
			} else {
				_ = r.ForceFlush(ctx)
			}
			if n := int64(evictedSeries(b)); n > evictions.Load() {
				evictions.Store(n)
			}
			time.Sleep(200 * time.Microsecond)
		}
	})
	for _, m := range []*sdkmetric.ManualReader{cum, delta} {
		bg.Go(func() {
			for !stop.Load() {
				var rm metricdata.ResourceMetrics
				_ = m.Collect(ctx, &rm)
				noNegative(t, "a reader of the bridge", &rm)
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
	var rec sync.WaitGroup
	for range recorders {
		rec.Go(func() {
			for i := range perRecorder {
				started.Add(1)
				b.Increment("k" + strconv.Itoa((i/1000)%keys)) // the other keys go idle meanwhile
				finished.Add(1)
				if i%200 == 0 {
					time.Sleep(300 * time.Microsecond)
				}
			}
		})
	}
	type late struct {
		mr           *sdkmetric.ManualReader
		cums         *cumulative
		lower, upper int64
	}
	lates := make([]*late, makers)
	var mk sync.WaitGroup
	for g := range makers {
		mk.Go(func() {
			time.Sleep(time.Duration(g) * 8 * time.Millisecond)
			before := finished.Load()
			l := &late{mr: sdkmetric.NewManualReader(sdkmetric.WithProducer(b.Producer())), cums: newCumulative(t)}
			l.lower, l.upper = recorders*perRecorder-started.Load(), recorders*perRecorder-before
			_ = sdkmetric.NewMeterProvider(sdkmetric.WithReader(l.mr))
			lates[g] = l
			for !stop.Load() {
				var rm metricdata.ResourceMetrics
				if err := l.mr.Collect(ctx, &rm); err != nil {
					t.Errorf("producer %d: %v", g, err)
					return
				}
				noNegative(t, "late producer "+strconv.Itoa(g), &rm)
				l.cums.see(&rm)
				time.Sleep(300 * time.Microsecond)
			}
		})
	}
	rec.Wait()
	stop.Store(true)
	mk.Wait()
	bg.Wait()
	for _, l := range lates {
		l.cums.see(collect(t, l.mr))
	}
	if evictions.Load() == 0 {
		t.Error("no series was evicted: the test did not test eviction")
	}
	for g, l := range lates {
		var got int64
		for k := range keys {
			got += l.cums.total("k" + strconv.Itoa(k))
		}
		if got < l.lower || got > l.upper {
			t.Errorf("producer %d counts %d, want between %d (what was added after it was made) and %d (what was added after Producer was called)", g, got, l.lower, l.upper)
		}
	}
	// Shutdown while producers are still being made and collected.
	var last sync.WaitGroup
	for range 4 {
		last.Go(func() {
			for range 20 {
				mr := sdkmetric.NewManualReader(sdkmetric.WithProducer(b.Producer()))
				_ = sdkmetric.NewMeterProvider(sdkmetric.WithReader(mr))
				var rm metricdata.ResourceMetrics
				_ = mr.Collect(ctx, &rm)
				noNegative(t, "a producer made at Shutdown", &rm)
			}
		})
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Error(err)
	}
	last.Wait()
}
