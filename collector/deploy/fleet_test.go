// Package deploy_test runs the fleet of deploy/fleet.sh (Collector
// replicas behind HAProxy, writing into Prometheus) and checks the fleet's
// answers in Prometheus against figures that simulated instances report.
package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/exporter"
)

// e2eEnv turns the test on: it installs nothing itself, and needs HAProxy
// and Prometheus (.ci/run installs them and sets it).
const e2eEnv = "TELEMETRY_FLEET_E2E"

const (
	instances = 1000
	rounds    = 3
)

// The figures instance i records in each round.
func requestsOf(i int) int { return i%10 + 1 }
func agentOf(i int) string { return "ua" + strconv.Itoa(i%5) }
func versionOf(i int) string {
	switch i % 4 {
	case 0:
		return "1.0.0"
	case 1:
		return "1.1.0"
	}
	return "2.0.0"
}

func TestFleetAnswersTheFleetsQuestions(t *testing.T) {
	if os.Getenv(e2eEnv) != "1" {
		t.Skip("starts HAProxy, Prometheus and three replicas: set " + e2eEnv + "=1 (.ci/run does)")
	}
	// Every instance in the sample, so that each has its own series too.
	f := startFleet(t, 3, "SAMPLE_RATE=1")
	fleet := newInstances(t, f.endpoint())

	// Round 1 goes with the first update, which Start sends at once.
	fleet.record(1)
	for _, in := range fleet {
		in.b.Start()
	}
	fleet.waitForUpdates(t)
	fleet.record(2)
	fleet.waitForUpdates(t)

	// Before any replica stops, the documented queries give the totals.
	wantRequests := 0
	for i := range instances {
		wantRequests += requestsOf(i)
	}
	f.eventually(t, "sum(last_over_time(requests[10m]))", map[string]float64{"": float64(2 * wantRequests)})
	f.eventually(t, "count by (telemetry_value) (last_over_time(version[10m]))",
		map[string]float64{"1.0.0": 250, "1.1.0": 250, "2.0.0": 500})
	f.eventually(t, "sum by (telemetry_value) (last_over_time(agent_total[10m]))",
		map[string]float64{"ua0": 400, "ua1": 400, "ua2": 400, "ua3": 400, "ua4": 400})

	// A replica stops (SIGTERM: it flushes what it took). HAProxy moves its
	// instances to the others, whose running totals start from the first
	// delta they see: the instance's series restarts, as after a counter
	// reset.
	f.stopReplica(t, 2)
	fleet.record(3)
	fleet.waitForUpdates(t)
	fleet.shutdown(t)

	// No update is lost: read with resets taken into account, every
	// instance's series adds up to what it recorded.
	f.eventually(t, "sum(last_over_time(requests[10m]))", nil) // settled: nothing more in flight
	moved := f.checkSeries(t, "requests", func(labels map[string]string) float64 {
		return float64(rounds * requestsOf(fleet.index(t, labels["instance"])))
	})
	if moved < instances/10 || moved > instances*6/10 {
		t.Errorf("%d of %d instances restarted their series; a third were on the stopped replica", moved, instances)
	}
	f.checkSeries(t, "agent_total", func(labels map[string]string) float64 {
		i := fleet.index(t, labels["instance"])
		if labels["telemetry_value"] != agentOf(i) {
			t.Errorf("instance %d counted agent %q", i, labels["telemetry_value"])
		}
		return rounds
	})
	f.eventually(t, "count by (telemetry_value) (last_over_time(version[10m]))",
		map[string]float64{"1.0.0": 250, "1.1.0": 250, "2.0.0": 500})
	t.Logf("%d instances moved to another replica and restarted their series", moved)
}

// instance is one simulated program: its own bridge, exporter and UUID.
type instance struct {
	id        uuid.UUID
	b         *compat.Client
	delivered *atomic.Int64
	i         int
}

type instanceSet []*instance

func newInstances(t *testing.T, endpoint string) instanceSet {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	out := make(instanceSet, instances)
	for i := range out {
		in := &instance{id: uuid.New(), delivered: new(atomic.Int64), i: i}
		exp, err := exporter.New(
			exporter.WithEndpoint(endpoint),
			exporter.WithInstanceID(in.id),
			exporter.WithRuntimeFigures(false),
			exporter.WithMetricTypes(true),
			exporter.WithHTTPClient(&http.Client{Transport: countingTransport{transport, in.delivered}}),
			exporter.WithRetry(exporter.RetryConfig{Enabled: true, MaxAttempts: 20,
				InitialInterval: 250 * time.Millisecond, MaxInterval: 250 * time.Millisecond}),
		)
		if err != nil {
			t.Fatal(err)
		}
		if in.b, err = compat.New(exp); err != nil {
			t.Fatal(err)
		}
		out[i] = in
	}
	t.Cleanup(func() { out.shutdown(t) })
	return out
}

func (s instanceSet) record(round int) {
	for i, in := range s {
		if round == 1 {
			in.b.Set("version", versionOf(i))
		}
		in.b.Add("requests", requestsOf(i))
		in.b.AppendUnique("agent", agentOf(i))
	}
}

// waitForUpdates waits until every instance has delivered an update that
// started after this call, on the schedule the receiver sets.
func (s instanceSet) waitForUpdates(t *testing.T) {
	t.Helper()
	before := make([]int64, len(s))
	for i, in := range s {
		before[i] = in.delivered.Load()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for i, in := range s {
		for in.delivered.Load() < before[i]+2 { // the one in flight may predate the call
			if time.Now().After(deadline) {
				t.Fatalf("instance %d delivered %d updates in 2 minutes", i, in.delivered.Load()-before[i])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (s instanceSet) shutdown(t *testing.T) {
	var wg sync.WaitGroup
	for _, in := range s {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := in.b.Shutdown(ctx); err != nil && !strings.Contains(err.Error(), "shut") {
				t.Errorf("instance %d: %v", in.i, err)
			}
		})
	}
	wg.Wait()
}

func (s instanceSet) index(t *testing.T, id string) int {
	for _, in := range s {
		if in.id.String() == id {
			return in.i
		}
	}
	t.Fatalf("a series of unknown instance %q", id)
	return -1
}

// countingTransport counts the answers the server accepted.
type countingTransport struct {
	base      http.RoundTripper
	delivered *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := c.base.RoundTrip(r)
	if err == nil && res.StatusCode/100 == 2 {
		c.delivered.Add(1)
	}
	return res, err
}

// fleet is a running deploy/fleet.sh.
type fleet struct {
	dir            string
	port, promPort int
	pids           []int
	env            []string // fleet.sh's environment
}

func (f *fleet) endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d/v1/update/", f.port) }

func startFleet(t testing.TB, replicas int, extra ...string) *fleet {
	f := &fleet{dir: t.TempDir(), port: freePorts(t, replicas+1), promPort: freePorts(t, 1)}
	script := filepath.Join(".", "fleet.sh")
	env := append(os.Environ(), "FLEET_DIR="+f.dir, "FLEET_BACKGROUND=1", "NEXT_UPDATE=2s",
		"EXPORT_INTERVAL=2s", "FLEET_WINDOW=10m",
		"FLEET_PORT="+strconv.Itoa(f.port), "PROMETHEUS_PORT="+strconv.Itoa(f.promPort))
	env = append(env, extra...)
	f.env = env
	cmd := exec.Command("bash", script, "start", strconv.Itoa(replicas))
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fleet.sh start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			f.logTails(t)
		}
		stop := exec.Command("bash", script, "stop")
		stop.Env = env
		if out, err := stop.CombinedOutput(); err != nil {
			t.Errorf("fleet.sh stop: %v\n%s", err, out)
		}
	})
	if err := f.readPids(); err != nil {
		t.Fatal(err)
	}
	return f
}

// running reports whether process pid runs (a zombie, dead but not yet
// reaped, does not).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command's closing parenthesis.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// readPids reads fleet.sh's pids: Prometheus, the replicas in order,
// HAProxy.
func (f *fleet) readPids() error {
	pids, err := os.ReadFile(filepath.Join(f.dir, "pids"))
	if err != nil {
		return err
	}
	f.pids = f.pids[:0]
	for _, line := range strings.Fields(string(pids)) {
		pid, _ := strconv.Atoi(line)
		f.pids = append(f.pids, pid)
	}
	return nil
}

// crashAndRestart SIGKILLs replica n and starts it again after down, as a
// supervisor would (fleet.sh replica n): same port, same storage. It runs
// beside the test's load, so it reports with an error, not a stop.
func (f *fleet) crashAndRestart(t testing.TB, n int, down time.Duration) {
	pid := f.pids[n]
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Errorf("SIGKILL replica%d: %v", n, err)
		return
	}
	for end := time.Now().Add(10 * time.Second); running(pid); { // its port is free after
		if time.Now().After(end) {
			t.Errorf("replica%d (pid %d) still runs 10 s after SIGKILL", n, pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(down)
	cmd := exec.Command("bash", filepath.Join(".", "fleet.sh"), "replica", strconv.Itoa(n))
	cmd.Env = f.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("fleet.sh replica %d: %v\n%s", n, err, out)
	}
	if err := f.readPids(); err != nil {
		t.Error(err)
	}
}

// logTails shows what a failed test needs to be understood: the warnings
// and errors in each process's log (the fleet's directory is removed with
// the test), and what Prometheus refused.
func (f *fleet) logTails(t testing.TB) {
	logs, _ := filepath.Glob(filepath.Join(f.dir, "*.log"))
	for _, name := range logs {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		var lines []string
		for _, line := range strings.Split(string(data), "\n") {
			// HAProxy's log is short and every line of it matters (a
			// replica marked down moves its instances).
			if strings.HasPrefix(filepath.Base(name), "haproxy") || strings.Contains(line, "error") ||
				strings.Contains(line, "warn") && !strings.Contains(line, "alias is deprecated") || strings.Contains(line, "level=warn") || strings.Contains(line, "level=error") {
				lines = append(lines, line)
			}
		}
		if len(lines) > 30 {
			lines = append(lines[:15], append([]string{"..."}, lines[len(lines)-15:]...)...)
		}
		t.Logf("%s (%d bytes):\n%s", filepath.Base(name), len(data), strings.Join(lines, "\n"))
	}
	// Prometheus scrapes nothing, itself included: read its own figures.
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", f.promPort))
	if err != nil {
		t.Logf("prometheus metrics: %v", err)
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "prometheus_tsdb_out_of_") || strings.HasPrefix(line, "prometheus_tsdb_head_series ") ||
			strings.Contains(line, `handler="/api/v1/write"`) && strings.HasPrefix(line, "prometheus_http_requests_total") {
			t.Log(line)
		}
	}
}

// stopReplica stops replica n (1-based) as an operator would: drained
// in HAProxy first (fleet.sh drain), then SIGTERM, and waits for it.
func (f *fleet) stopReplica(t testing.TB, n int) {
	f.haproxyCommand(t, fmt.Sprintf("set server replicas/replica%d state maint", n))
	pid := f.pids[n] // pids: Prometheus, the replicas in order, HAProxy
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(50 * time.Millisecond)
	}
}

// haproxyCommand runs one command on HAProxy's admin socket (what
// fleet.sh drain does with socat) and fails on any answer but an empty one.
func (f *fleet) haproxyCommand(t testing.TB, cmd string) {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(f.dir, "haproxy.sock"))
	if err != nil {
		t.Fatalf("HAProxy's admin socket: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	answer, err := io.ReadAll(c)
	if err != nil || strings.TrimSpace(string(answer)) != "" {
		t.Fatalf("%s: %q %v", cmd, answer, err)
	}
}

// freePorts finds n consecutive free loopback ports and returns the first.
func freePorts(t testing.TB, n int) int {
	for try := 0; try < 100; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		first := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		ok := true
		for p := first; p < first+n && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if ok = err == nil; ok {
				_ = l.Close()
			}
		}
		if ok {
			return first
		}
	}
	t.Fatal("no free ports")
	return 0
}

// query runs a PromQL instant query.
func (f *fleet) query(t testing.TB, q string) []promResult {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?query=%s", f.promPort, url.QueryEscape(q)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct{ Result []promResult }
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("%s: %v %s", q, err, body.Error)
	}
	return body.Data.Result
}

type promResult struct {
	Metric map[string]string
	Value  []any   // instant: [time, "value"]
	Values [][]any // range: [[time, "value"], ...]
}

func number(t testing.TB, pair []any) float64 {
	s, _ := pair[1].(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("value %v: %v", pair, err)
	}
	return f
}

// eventually waits until q answers want, keyed by the result's
// telemetry_value label ("" when it has none); a nil want waits until
// the answer stops changing.
func (f *fleet) eventually(t testing.TB, q string, want map[string]float64) {
	t.Helper()
	var got map[string]float64
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		prev := got
		got = map[string]float64{}
		for _, r := range f.query(t, q) {
			got[r.Metric["telemetry_value"]] = number(t, r.Value)
		}
		if want == nil && prev != nil && fmt.Sprint(prev) == fmt.Sprint(got) {
			return
		}
		if want != nil && fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		time.Sleep(3 * time.Second)
	}
	t.Fatalf("%s: got %v, want %v", q, got, want)
}

// checkSeries reads every series of metric over the test, adds up each
// one's increases (a drop is a restart, after which the new value counts
// whole, as Prometheus's increase() reads counters), compares that with
// want, and returns how many series restarted.
func (f *fleet) checkSeries(t *testing.T, metric string, want func(map[string]string) float64) (restarted int) {
	t.Helper()
	series := f.query(t, metric+"[10m]")
	if len(series) == 0 {
		t.Fatalf("no series of %s", metric)
	}
	for _, s := range series {
		total, last, reset := 0.0, 0.0, false
		for _, pair := range s.Values {
			v := number(t, pair)
			if v < last {
				total += v
				reset = true
			} else {
				total += v - last
			}
			last = v
		}
		if w := want(s.Metric); total != w {
			t.Errorf("%s%v adds up to %v, want %v (samples %v)", metric, s.Metric, total, w, s.Values)
		}
		if reset {
			restarted++
		}
	}
	return restarted
}
