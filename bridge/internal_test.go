package bridge

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// A key the server disables is let go at the next update, and not kept
// again while disabled.
func TestServerDisabledKeysAreNotHeld(t *testing.T) {
	s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour, DisableKeys: []string{"secret"}}))
	exp, err := exporter.New(exporter.WithEndpoint(s.Endpoint()), exporter.WithInstanceID(uuid.New()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(exp)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Shutdown(context.Background()) }()
	held := func(key string) bool { _, ok := b.entries.load(key); return ok }

	b.Set("secret", "x")
	b.Increment("secret:1")
	if !held("secret") || !held("secret:1") {
		t.Fatal("keys not held before the server disabled them")
	}
	if err := b.Reader().ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The answer disabled the keys; the next collection lets them go.
	if err := b.Reader().ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.Set("secret", "y")
	b.Increment("secret:2")
	for _, k := range []string{"secret", "secret:1", "secret:2"} {
		if held(k) {
			t.Errorf("disabled key %q is held", k)
		}
	}
}
