package exporter_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

var testID = uuid.MustParse("6a0f5f7e-7c1b-4c55-9b55-3f6f3a5e2b11")

// fastRetry keeps retry tests short: attempts attempts per send, a
// millisecond apart at most.
func fastRetry(attempts int) exporter.Option {
	return exporter.WithRetry(exporter.RetryConfig{
		Enabled:         true,
		InitialInterval: time.Millisecond,
		MaxInterval:     time.Millisecond,
		MaxAttempts:     attempts,
	})
}

// slowRetry waits up to an hour between attempts: a test sees whether
// something ends the wait.
func slowRetry() exporter.Option {
	return exporter.WithRetry(exporter.RetryConfig{Enabled: true, InitialInterval: time.Hour, MaxInterval: time.Hour, MaxAttempts: 4})
}

func newExporter(t *testing.T, s *servertest.Server, opts ...exporter.Option) *exporter.Exporter {
	t.Helper()
	return newExporterTo(t, s.Endpoint(), opts...)
}

func newExporterTo(t *testing.T, endpoint string, opts ...exporter.Option) *exporter.Exporter {
	t.Helper()
	all := append([]exporter.Option{
		exporter.WithEndpoint(endpoint),
		exporter.WithInstanceID(testID),
		exporter.WithRuntimeFigures(false),
		fastRetry(4),
	}, opts...)
	exp, err := exporter.New(all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return exp
}

func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
	if strings.Contains(err.Error(), testID.String()) {
		t.Errorf("error %q reveals the instance ID", err)
	}
}

// encode renders a decoded JSON value again (maps come out with sorted keys).
func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(inPointOrder(t, v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// inPointOrder sorts a list of points with attributes by their JSON: an
// update lists a key's points in the order the SDK collected them, which
// the protocol leaves open.
func inPointOrder(t *testing.T, v any) any {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return v
	}
	texts := make([]string, len(list))
	for i, el := range list {
		if obj, ok := el.(map[string]any); !ok || obj[payload.MemberAttributes] == nil {
			return v
		}
		b, err := json.Marshal(el)
		if err != nil {
			t.Fatal(err)
		}
		texts[i] = string(b)
	}
	order := make([]int, len(list))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(texts[a], texts[b]) })
	sorted := make([]any, len(list))
	for i, j := range order {
		sorted[i] = list[j]
	}
	return sorted
}

// encodeAll re-encodes each value of decoded data.
func encodeAll(t *testing.T, data map[string]any) map[string]string {
	t.Helper()
	out := make(map[string]string, len(data))
	for k, v := range data {
		out[k] = encode(t, v)
	}
	return out
}

func expectJSON(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %s, want %s", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got keys %v, want %d keys", got, len(want))
	}
}
