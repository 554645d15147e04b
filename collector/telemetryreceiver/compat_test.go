package telemetryreceiver

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/payload"

	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/exporter"
)

// TestCompatReportsIntoTheReceiver runs compatReport in a process of its
// own, since compat allows Init once per process (and -count runs tests
// more than once).
func TestCompatReportsIntoTheReceiver(t *testing.T) {
	inChild(t, "TestCompatReportsIntoTheReceiver", compatReport)
}

// inChild runs body in a new process of this test binary that runs only
// test name, with its own compat spool, and fails unless it passes: compat
// allows Init once per process. In that process it runs body itself.
func inChild(t *testing.T, name string, body func(*testing.T)) {
	const childEnv = "TELEMETRYRECEIVER_CHILD_TEST"
	if os.Getenv(childEnv) == name {
		body(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+name, compat.EnvSpoolDir+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s failed in its own process (%v):\n%s", name, err, out)
	}
}

func compatReport(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	base := startReceiver(t, testConfig(), sink)
	compat.InitWithOptions(testID, []string{"secret"}, compat.WithExporterOptions(
		exporter.WithEndpoint(base),
		exporter.WithMetricTypes(true),
	))
	compat.StartEmitting() // sends a first update at once

	compat.Increment("http_requests")
	compat.Add("http_requests", 2)
	compat.Set("secret", "never sent")
	compat.Set("cpus", 4)
	compat.AppendUnique("user_agent", "4f9f2cab")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := compat.StopEmittingContext(ctx); err != nil { // the final update
		t.Fatal(err)
	}

	var lines []string
	for _, md := range sink.AllMetrics() {
		for _, line := range describe(md) {
			if !strings.HasPrefix(line, payload.KeyGoroutines+" ") && !strings.HasPrefix(line, payload.KeyMemory+" ") {
				lines = append(lines, line)
			}
		}
	}
	// The first update is collected while the calls above run, so a
	// count may come in two deltas, one in each update: their total is
	// what was recorded.
	got := addDeltas(t, lines)
	want := []string{
		`cpus gauge = 4`,
		`http_requests sum = 3`,
		`user_agent counter {telemetry.value="4f9f2cab"} = 1`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("points:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if n := len(sink.AllMetrics()); n < 1 || n > 2 {
		t.Errorf("%d updates reached the pipeline, want the first and the final one", n)
	}
}

// addDeltas adds up the points of delta sums and counters that describe
// wrote for the same series, and returns every line sorted.
func addDeltas(t *testing.T, lines []string) []string {
	t.Helper()
	totals := map[string]int64{}
	var out []string
	for _, line := range lines {
		series, value, ok := strings.Cut(line, "= ")
		isDelta := strings.Contains(series, " sum ") || strings.Contains(series, " counter ")
		if !ok || !isDelta {
			out = append(out, line)
			continue
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		totals[series] += n
	}
	for series, n := range totals {
		out = append(out, series+"= "+strconv.FormatInt(n, 10))
	}
	slices.Sort(out)
	return out
}
