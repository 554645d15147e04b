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

	telemetry "github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// TestCompatEndToEnd runs a program written against the documented API,
// with a native OpenTelemetry instrument beside it, against a loopback
// server that disables a key, enables it again and then stops reporting.
func TestCompatEndToEnd(t *testing.T) {
	// compat's Init may run once per process, so the scenario runs in a
	// child process of its own: -count and reruns keep working.
	if os.Getenv(childEnv) != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCompatEndToEnd$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"=1")
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
