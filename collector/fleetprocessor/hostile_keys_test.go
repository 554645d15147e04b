package fleetprocessor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// withKeys is the context of an update sent with several Idempotency-Key
// headers: the receiver hands them all on.
func withKeys(keys ...string) context.Context {
	return client.NewContext(context.Background(), client.Info{
		Metadata: client.NewMetadata(map[string][]string{payload.HeaderIdempotencyKey: keys}),
	})
}

// Keys are scoped to their instance, whatever they hold: the same key on
// two instances counts both; a binary key, a key at the length limit and
// a key sent with others (the first counts) each count once, across a
// crash too.
func TestHostileKeysCountOncePerInstance(t *testing.T) {
	host := newStorageHost(t, t.TempDir(), false)
	ref := newTestProcessor(t, testConfig())
	run, err := startDurable(t, durableConfig(), host, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	binary := "\x00\xff\x00\n\r\x80key"
	long := strings.Repeat("\xfe", payload.MaxIdempotencyKeyBytes)
	sends := []struct {
		ctx context.Context
		i   int
	}{
		{withKey("shared"), 0}, {withKey("shared"), 1}, {withKey("shared"), 2},
		{withKey(binary), 3}, {withKey(long), 4},
		{withKeys("first", "second"), 5}, {withKeys("", "ignored"), 6},
	}
	for _, tp := range []*testProcessor{ref, run} {
		tp.clock = t0.Add(time.Second)
		for _, s := range sends {
			if err := tp.ConsumeMetrics(s.ctx, update(s.i, 0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	run.crash(t)
	run, err = startDurable(t, durableConfig(), host, t0.Add(time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Shutdown(context.Background())
	for _, tp := range []*testProcessor{ref, run} {
		tp.clock = t0.Add(time.Minute)
		// Resent: counted once, but for the update without a usable key.
		for _, s := range sends {
			if err := tp.ConsumeMetrics(s.ctx, update(s.i, 0)); err != nil {
				t.Fatal(err)
			}
		}
		for _, ctx := range []context.Context{withKey("first"), withKeys("first", "other")} {
			if err := tp.ConsumeMetrics(ctx, update(5, 0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := exportAll(t, t0.Add(2*time.Minute), ref, run)
	sameFleet(t, "after hostile keys", got[1], got[0])
	// Instances 0-5 once each, instance 6 twice (no key).
	want := float64(0)
	for i := range 7 {
		want += float64(1 + i)
	}
	want += 1 + 6
	if total := got[1]["fleet.updates"]; sum(total) != want {
		t.Errorf("updates total %v, want %v", total, want)
	}
}

func sum(series map[string]float64) float64 {
	var s float64
	for _, v := range series {
		s += v
	}
	return s
}

// An update of several instances under one key (an OTLP receiver that
// hands its headers on as metadata) is scoped to all of them: the same
// key on an update of other instances is not taken for it, even when the
// first resource names no instance.
func TestAKeyOfSeveralInstancesDoesNotHideAnother(t *testing.T) {
	cfg := testConfig()
	cfg.MinInstances = 1
	tp := newTestProcessor(t, cfg)
	build := func(ids ...int) pmetric.Metrics {
		md := pmetric.NewMetrics()
		anon := md.ResourceMetrics().AppendEmpty() // no instance: passes through
		addCount(anon.ScopeMetrics().AppendEmpty().Metrics(), "anon", true, 1)
		for _, i := range ids {
			update(i, 0).ResourceMetrics().At(0).CopyTo(md.ResourceMetrics().AppendEmpty())
		}
		return md
	}
	tp.clock = t0.Add(time.Second)
	for _, md := range []pmetric.Metrics{build(0, 1), build(0, 2), build(3), build(4)} {
		tp.sendKeyed(t, "same", md)
	}
	tp.sendKeyed(t, "same", build(0, 1)) // a resend: once
	got := tp.fleet(t)
	// update(i, 0) counts 1+i: {0,1}, {0,2}, {3} and {4} once each.
	if s, want := sum(got["fleet.updates"]), float64(1+2+1+3+4+5); s != want {
		t.Errorf("updates total %v, want %v (every update once)", s, want)
	}
}
