package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

// The demo initialises the global compat package, which a process may do
// once; each test runs it in a child process of the test binary.
const childArgs = "OTEL_APP_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgs); ok {
		os.Exit(cli(strings.Fields(args), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// runDemo runs the demo with args and extra environment, and returns what
// it printed; it fails t unless the demo exits 0.
func runDemo(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), childArgs+"="+strings.Join(args, " ")), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	return out.String()
}

func TestDemoShowsUpdatesAndTheDisabledKey(t *testing.T) {
	out := runDemo(t, nil, "-duration=3500ms", "-interval=1s")
	updates := regexp.MustCompile(`(?m)^update \d+ at`).FindAllStringIndex(out, -1)
	if len(updates) < 4 {
		t.Fatalf("%d updates printed, want at least 4 (three on schedule and the final one):\n%s", len(updates), out)
	}
	section := func(i int) string {
		end := len(out)
		if i+1 < len(updates) {
			end = updates[i+1][0]
		}
		return out[updates[i][0]:end]
	}
	if !regexp.MustCompile(`version\s+string\s+"1.4.2"`).MatchString(section(0)) {
		t.Errorf("update 1 lacks the version:\n%s", section(0))
	}
	if !regexp.MustCompile(`user_agent\s+set\s+3 values`).MatchString(section(1)) ||
		!strings.Contains(section(1), "answer: next_update=1s disable_keys=[user_agent]") {
		t.Errorf("update 2 should carry the user agents and be answered with the directive:\n%s", section(1))
	}
	if !regexp.MustCompile(`http_requests\s+number\s+\d+`).MatchString(section(1)) ||
		!regexp.MustCompile(`http.server.request.count\s+points\s+GET 200=\d+`).MatchString(section(1)) {
		t.Errorf("update 2 lacks the compat counter or the native instrument:\n%s", section(1))
	}
	for i := 2; i < len(updates); i++ {
		if !strings.Contains(section(i), "user_agent                     (disabled by the server: not sent)") {
			t.Errorf("update %d still carries the disabled key:\n%s", i+1, section(i))
		}
	}
	if !strings.Contains(out, "stopping: one final update") || !strings.Contains(out, "done: ") {
		t.Errorf("no clean stop:\n%s", out)
	}
}

// otlpCollector decodes OTLP/HTTP metric exports.
type otlpCollector struct {
	mu       sync.Mutex
	requests []*colmetricpb.ExportMetricsServiceRequest
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := &colmetricpb.ExportMetricsServiceRequest{}
	if r.URL.Path != "/v1/metrics" || proto.Unmarshal(body, req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.requests = append(c.requests, req)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{})
	_, _ = w.Write(b)
}

// metrics returns every metric received, by name.
func (c *otlpCollector) metrics() map[string][]*metricpb.Metric {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]*metricpb.Metric{}
	for _, req := range c.requests {
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					out[m.Name] = append(out[m.Name], m)
				}
			}
		}
	}
	return out
}

func attr(kvs []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

func TestOTLPReceivesTheCompatFigures(t *testing.T) {
	c := &otlpCollector{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	runDemo(t, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + srv.URL, "OTEL_METRIC_EXPORT_INTERVAL=500"},
		"-otlp", "-duration=1500ms", "-interval=1s")
	got := c.metrics()

	var requests int64
	for _, m := range got["http_requests"] {
		for _, dp := range m.GetSum().GetDataPoints() {
			requests = max(requests, dp.GetAsInt())
		}
	}
	if requests < 10 {
		t.Errorf("http_requests over OTLP peaked at %d, want the compat counter's cumulative count", requests)
	}
	version := false
	for _, m := range got["version"] {
		for _, dp := range m.GetGauge().GetDataPoints() {
			version = version || attr(dp.Attributes, "telemetry.value").GetStringValue() == "1.4.2"
		}
	}
	if !version {
		t.Errorf("the compat Set of version did not arrive: %v", got["version"])
	}
	agents := map[string]bool{}
	for _, m := range got["user_agent"] {
		for _, dp := range m.GetSum().GetDataPoints() {
			agents[attr(dp.Attributes, "telemetry.value").GetStringValue()] = true
		}
	}
	if len(agents) != 3 {
		t.Errorf("counting set over OTLP has %d distinct user agents, want 3: %v", len(agents), agents)
	}
	if len(got["http.server.request.count"]) == 0 {
		t.Error("the native instrument did not arrive")
	}
}
