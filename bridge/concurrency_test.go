package bridge_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// Many goroutines record while updates go out; every figure arrives
// exactly once across the updates.
func TestConcurrentRecordingArrivesExactlyOnce(t *testing.T) {
	const goroutines, perGoroutine = 8, 100_000
	f := newFixture(t, nil)
	f.reader.Start()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				f.b.Increment("n")
				if i%100 == 0 {
					f.b.AppendUnique("u", g)
					f.b.Append("l", i)
				}
			}
		})
	}
	flushing := make(chan struct{})
	go func() { // updates go out all the while
		defer close(flushing)
		for range 20 {
			_ = f.reader.ForceFlush(context.Background())
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	<-flushing
	if err := f.b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	var n, u, l int
	for _, r := range f.server.Requests() {
		p := r.Payload(t)
		n += p.Int("n")
		for _, m := range asList(p, "u") {
			u += int(m.(map[string]any)["count"].(float64))
		}
		l += len(asList(p, "l"))
	}
	if n != goroutines*perGoroutine || u != goroutines*perGoroutine/100 || l != goroutines*perGoroutine/100 {
		t.Errorf("across %d updates: n=%d, set members=%d, list elements=%d; want %d, %d, %d",
			len(f.server.Requests()), n, u, l, goroutines*perGoroutine, goroutines*perGoroutine/100, goroutines*perGoroutine/100)
	}
}

func asList(p payload.Payload, key string) []any {
	l, _ := p.Data[key].([]any)
	return l
}

// Recording, resetting, starting and stopping all at once: no race, no
// panic, no deadlock, and nothing sent after Shutdown returns.
func TestEverythingAtOnce(t *testing.T) {
	servertest.CaptureErrors(t)
	f := newFixture(t, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := "k" + strconv.Itoa(i%50)
				switch (g + i) % 7 {
				case 0:
					f.b.Increment(key)
				case 1:
					f.b.Set(key, i)
				case 2:
					f.b.SetNested(key, "s", i)
				case 3:
					f.b.Append(key, i)
				case 4:
					f.b.AppendUnique(key, i%10)
				case 5:
					f.b.Reset()
				case 6:
					_ = f.reader.ForceFlush(context.Background())
				}
			}
		})
	}
	go f.reader.Start()
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var stops sync.WaitGroup
	for range 3 {
		stops.Go(func() { _ = f.b.Shutdown(ctx) })
	}
	stops.Wait()
	sent := len(f.server.Requests())
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if after := len(f.server.Requests()); after != sent {
		t.Errorf("%d updates were sent after Shutdown returned", after-sent)
	}
}
