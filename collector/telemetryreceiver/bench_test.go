package telemetryreceiver

import (
	"github.com/telemetrybridge/telemetry/payload"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// benchmarkBody is an update of 1,000 items in the protocol's shapes, as a
// busy server sends it: key families of counters, plain counters, one
// counting set, strings, and nested sub-keys.
func benchmarkBody(tb testing.TB) []byte {
	data := make(map[string]any, 1000)
	for i := range 600 {
		data[fmt.Sprintf("tls_client_hello_ua:%08x", i*2654435761)] = i + 1
	}
	for i := range 200 {
		data[fmt.Sprintf("counter_%d", i)] = i * 7
	}
	set := make([]map[string]any, 100)
	for i := range set {
		set[i] = map[string]any{"value": fmt.Sprintf("%08x", i*40503), "count": i + 1}
	}
	data["user_agent"] = set
	for i := range 50 {
		data[fmt.Sprintf("setting_%d", i)] = fmt.Sprintf("value-%d", i)
	}
	nested := make(map[string]any, 50)
	for i := range 50 {
		nested[fmt.Sprintf("sub_%d", i)] = i
	}
	data["build"] = nested
	body, err := json.Marshal(map[string]any{
		"instance_id": testID.String(), "timestamp": "2026-11-25T10:00:00Z",
		"expect_next": "0001-01-01T00:00:00Z", "data": data,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// BenchmarkIngest measures one update of 1,000 items through the
// receiver's handler: checks, decoding, conversion and the hand-over to
// the pipeline, without the network. Run with -cpu 1 for a per-core figure.
func BenchmarkIngest(b *testing.B) {
	body := benchmarkBody(b)
	f := NewFactory()
	cfg := createDefaultConfig()
	cfg.Schedule.EarlyShare = 0 // one instance, again and again
	rcv, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	handler := rcv.(*telemetryReceiver)
	url := DefaultPath + testID.String()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkIngestOverLoopback is BenchmarkIngest through the HTTP server
// that confighttp builds, over a loopback connection.
func BenchmarkIngestOverLoopback(b *testing.B) {
	body := benchmarkBody(b)
	url := startReceiver(b, testConfig(), consumertest.NewNop()) + testID.String()
	client := &http.Client{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

func TestBenchmarkBodyHasAThousandItems(t *testing.T) {
	u, err := decodeUpdate(benchmarkBody(t), testID, payload.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if n := toMetrics(u).DataPointCount(); n != 1000 {
		t.Errorf("the benchmark update converts to %d points, want 1,000", n)
	}
}
