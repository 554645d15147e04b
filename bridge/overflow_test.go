package bridge_test

import (
	"math"
	"strconv"
	"testing"
	"time"
)

// Sums wrap around as Go's int64 does, and no amount makes a call loop:
// Add(k, math.MaxInt) then Add(k, 1) once never returned.
func TestAddWrapsAndNeverLoops(t *testing.T) {
	f := newFixture(t, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.b.Add("up", math.MaxInt)
		f.b.Add("up", 1)
		f.b.Add("down", math.MinInt)
		f.b.Add("down", -1)
		f.b.Add("down", math.MinInt)
		f.b.Increment("up")
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Add with extreme amounts did not return")
	}
	// MaxInt+1 wraps to MinInt, +1 is MinInt+1; MinInt-1 wraps to MaxInt,
	// +MinInt is -1.
	expectData(t, f.update(t), map[string]string{
		"up":   strconv.FormatInt(math.MinInt64+1, 10),
		"down": "-1",
	})
}

// Whatever amounts a program adds, every call returns at once and the
// update carries their sum as int64 arithmetic wraps it.
func FuzzAddExtremes(f *testing.F) {
	f.Add(int64(math.MaxInt64), int64(1), int64(math.MinInt64))
	f.Add(int64(math.MinInt64), int64(-1), int64(0))
	f.Add(int64(0), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, a, b, c int64) {
		fx := newFixture(t, nil)
		done := make(chan struct{})
		go func() {
			defer close(done)
			fx.b.Add("k", int(a))
			fx.b.Add("k", int(b))
			fx.b.Increment("k")
			fx.b.Add("k", int(c))
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Add(%d), Add(%d), Increment, Add(%d) did not return", a, b, c)
		}
		want := strconv.FormatInt(a+b+1+c, 10)
		got, sent := fx.update(t)["k"]
		if !sent && want == "0" {
			return // amounts that cancel out leave nothing to send, as before
		}
		if got != want {
			t.Fatalf("Add(%d), Add(%d), Increment, Add(%d): sent %s, want %s", a, b, c, got, want)
		}
	})
}
