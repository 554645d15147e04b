package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	telemetry "github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// TestEndToEnd runs an instrumented program against a loopback server: the
// first update goes out at once, the server's next_update sets the pace,
// its disable_keys takes a key out of the next update, and shutting down
// delivers a final update.
func TestEndToEnd(t *testing.T) {
	srv := servertest.New(t,
		servertest.JSON(payload.Response{NextUpdate: time.Second, DisableKeys: []string{"tls_client_hello_ua"}}),
	)

	id := uuid.New()
	exp, err := exporter.New(exporter.WithEndpoint(srv.Endpoint()), exporter.WithInstanceID(id))
	if err != nil {
		t.Fatal(err)
	}
	reader := exporter.NewReader(exp)
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	meter := provider.Meter("e2e")
	ctx := context.Background()

	requests, _ := meter.Int64Counter("http_requests")
	latency, _ := meter.Float64Histogram("latency", metric.WithExplicitBucketBoundaries(0.1, 1))
	hello, _ := meter.Int64Counter(payload.KeyToInstrumentName("tls_client_hello_ua:3fa2c1b0"))
	byMethod, _ := meter.Int64Counter("by_method")

	requests.Add(ctx, 3)
	latency.Record(ctx, 0.05)
	hello.Add(ctx, 1)
	byMethod.Add(ctx, 2, metric.WithAttributes(attribute.String("method", "GET")))
	reader.Start()
	first := srv.Wait(t, 1)[0].Payload(t)

	requests.Add(ctx, 4)
	hello.Add(ctx, 1)
	second := srv.Wait(t, 2)[1].Payload(t)

	requests.Add(ctx, 5)
	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := provider.Shutdown(shutdownCtx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	all := srv.Wait(t, 3)
	final := all[2].Payload(t)

	if all[0].Path != "/v1/update/"+id.String() || first.InstanceID != id.String() {
		t.Errorf("update went to %s for instance %s", all[0].Path, first.InstanceID)
	}
	if first.Int("http_requests") != 3 || first.Int("tls_client_hello_ua:3fa2c1b0") != 1 || first.Int("goroutines") < 1 {
		t.Errorf("first update: %v", first.Data)
	}
	if _, ok := first.Data["memory"].(map[string]any)["heap_alloc"]; !ok {
		t.Errorf("first update has no memory figures: %v", first.Data["memory"])
	}
	if h, _ := first.Data["latency"].(map[string]any); h["count"] != 1.0 || h["sum"] != 0.05 {
		t.Errorf("latency histogram: %v", first.Data["latency"])
	}
	if pts, _ := first.Data["by_method"].([]any); len(pts) != 1 {
		t.Errorf("by_method: %v", first.Data["by_method"])
	}
	if second.Int("http_requests") != 4 {
		t.Errorf("second update counted %v requests, want the 4 since the first", second.Data["http_requests"])
	}
	if _, ok := second.Data["tls_client_hello_ua:3fa2c1b0"]; ok {
		t.Errorf("a key the server disabled was sent: %v", second.Data)
	}
	if _, ok := second.Data["latency"]; ok {
		t.Errorf("the histogram was repeated without new records: %v", second.Data["latency"])
	}
	if final.Int("http_requests") != 5 {
		t.Errorf("final update: %v", final.Data)
	}
	if gap := second.Timestamp.Sub(first.Timestamp); gap < 900*time.Millisecond {
		t.Errorf("second update %v after the first, want next_update = 1s", gap)
	}
}

// TestCompatEndToEnd runs a program written against the documented API,
// with a native OpenTelemetry instrument beside it, against a loopback
// server that disables a key, enables it again and then stops reporting.
func TestCompatEndToEnd(t *testing.T) {
	// compat's Init may run once per process, so the scenario runs in a
	// child process of its own: -count and reruns keep working.
	if os.Getenv(childEnv) != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCompatEndToEnd$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=1", telemetry.EnvSpoolDir+"="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("the compat scenario failed: %v\n%s", err, out)
		}
		return
	}
	s := servertest.New(t,
		servertest.JSON(payload.Response{NextUpdate: time.Second, DisableKeys: []string{"tls_client_hello_ua"}}),
		servertest.JSON(payload.Response{NextUpdate: time.Second, EnableKeys: []string{"tls_client_hello_ua"}}),
		servertest.JSON(payload.Response{Stop: true}),
	)
	t.Setenv(telemetry.EnvEndpoint, s.Endpoint())
	id := uuid.New()
	telemetry.Init(id, []string{"secret"})
	native, _ := telemetry.MeterProvider().Meter("app").Int64Counter("native_requests")
	ctx := context.Background()
	// applied gives the client a moment to apply the answer to update n
	// after the server has received it.
	applied := func(n int) {
		s.Wait(t, n)
		time.Sleep(200 * time.Millisecond)
	}

	telemetry.Set("version", "1.2.3")
	telemetry.SetNested("build", "os", "linux")
	telemetry.SetNested("build", "cpus", 2)
	telemetry.Set("secret", "never sent")
	telemetry.Increment("requests")
	uaHash := telemetry.FastHash([]byte("curl/8"))
	telemetry.AppendUnique("user_agent", uaHash)
	telemetry.Increment("tls_client_hello_ua:3fa2c1b0")
	native.Add(ctx, 3)
	telemetry.StartEmitting()
	applied(1)

	telemetry.Add("requests", 2)
	telemetry.Increment("tls_client_hello_ua:3fa2c1b0") // disabled by the server now
	telemetry.Append("events", "reload")
	applied(2)

	telemetry.Increment("tls_client_hello_ua:3fa2c1b0") // enabled again
	native.Add(ctx, 1)
	applied(3)

	telemetry.Increment("requests") // the server said stop: never sent
	telemetry.StopEmitting()

	got := s.Requests()
	if len(got) != 3 {
		t.Fatalf("%d updates, want 3 (the server stopped the cycle)", len(got))
	}
	for i, want := range []string{
		`{"build":{"cpus":2,"os":"linux"},"native_requests":3,"requests":1,"tls_client_hello_ua:3fa2c1b0":1,"user_agent":[{"value":"` + uaHash + `","count":1}],"version":"1.2.3"}`,
		`{"events":["reload"],"requests":2}`,
		`{"native_requests":1,"tls_client_hello_ua:3fa2c1b0":1}`,
	} {
		p := got[i].Payload(t)
		if p.InstanceID != id.String() || got[i].Path != "/v1/update/"+id.String() {
			t.Errorf("update %d: instance %q at %s", i+1, p.InstanceID, got[i].Path)
		}
		if g := dataWithoutRuntime(t, got[i].Body); g != want {
			t.Errorf("update %d data:\n got %s\nwant %s", i+1, g, want)
		}
		if p.Int("goroutines") < 1 {
			t.Errorf("update %d has no goroutines figure", i+1)
		}
		mem, _ := p.Data["memory"].(map[string]any)
		if _, ok := mem["heap_alloc"]; !ok {
			t.Errorf("update %d has no memory figures: %v", i+1, p.Data["memory"])
		}
	}
}

const childEnv = "TELEMETRYBRIDGE_E2E_CHILD"

// dataWithoutRuntime returns the data of a payload body without the
// emit-time runtime figures, with numbers as they were written.
func dataWithoutRuntime(t *testing.T, body []byte) string {
	t.Helper()
	var p struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&p); err != nil {
		t.Fatal(err)
	}
	delete(p.Data, "goroutines")
	delete(p.Data, "memory")
	b, err := json.Marshal(p.Data)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
