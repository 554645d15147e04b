package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/collector/deploy/loadgen"
)

// The README's fleet questions ("A fleet into Prometheus"), as PromQL over
// the aggregated series, with the README's window (2h); the test runs
// them with its own (fleetWindow). Counts look back a day, so that a
// replica's last totals count after it stops; values look back over the
// window, so that a stopped replica's instances count until they have
// surely reported to another replica.
const (
	queryInstances = `sum(last_over_time(fleet_processor_instances[2h]))`
	queryVersions  = `sum by (telemetry_value) (last_over_time(fleet_version_instances[2h]))`
	queryCounter   = `sum(last_over_time(fleet_%s[1d]))`
	queryAgents    = `sum by (telemetry_value) (last_over_time(fleet_agent_total[1d]))`
	queryOS        = `sum by (telemetry_value) (last_over_time(fleet_build_instances{telemetry_subkey="os"}[2h]))`
	queryGoroutine = `sum(last_over_time(fleet_goroutines_%s[2h]))`
)

const (
	aggregateInstances = 10_000
	minInstances       = 5 // the fleet's default k
	// fleetWindow is the test's window: longer than the pause between the
	// rounds and the checks that follow round 1.
	fleetWindow = 60 * time.Second
)

// withWindow is a README query with the test's window.
func withWindow(q string) string {
	return strings.ReplaceAll(q, "[2h]", fmt.Sprintf("[%ds]", int(fleetWindow.Seconds())))
}

// TestFleetAggregatesTenThousandInstances runs 3 replicas with the fleet
// processor (sample off) and 10,000 simulated instances over two rounds;
// replica 2 stops between them, and round 2 comes a while later, as an
// update interval would bring it. The README's queries must give the
// generator's ground truth: counts at once; value counts may count the
// stopped replica's instances twice (never more) until the window has
// passed since it stopped, and are exact after. No label value that fewer
// than k instances reported may reach Prometheus.
func TestFleetAggregatesTenThousandInstances(t *testing.T) {
	if os.Getenv(e2eEnv) != "1" {
		t.Skip("starts HAProxy, Prometheus and three replicas: set " + e2eEnv + "=1 (.ci/run does)")
	}
	f := startFleet(t, 3, "SAMPLE_RATE=0", "NEXT_UPDATE=1h", "FLEET_WINDOW="+fleetWindow.String())
	truth := loadgen.NewTruth()
	cfg := loadgen.Config{Endpoint: f.endpoint(), Seed: 1, Instances: aggregateInstances,
		Concurrency: 32, RetryAfter: 200 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	send(ctx, t, cfg, 1, truth)
	f.checkAnswers(t, truth)

	onStopped := f.instancesOf(t, "replica2")
	f.stopReplica(t, 2)
	stopped := time.Now()
	// The pause leaves the final checks time before round 2's updates
	// leave the window.
	pause := fleetWindow * 2 / 5
	time.Sleep(pause)
	// Round 2 goes on while replica 1 crashes (SIGKILL) and is started
	// again on its storage: its instances wait and send again what it did
	// not answer, and it knows what it had taken.
	crashed := make(chan struct{})
	go func() {
		defer close(crashed)
		time.Sleep(time.Second)
		f.crashAndRestart(t, 1, 2*time.Second)
	}()
	send(ctx, t, cfg, 2, truth)
	<-crashed

	// Counts are exact at once: the stopped replica sent its totals as it
	// stopped, and its instances' later updates count on the others.
	f.waitExported(t)
	f.eventually(t, fmt.Sprintf(queryCounter, "c00"), map[string]float64{"": float64(truth.Counters["c00"])})
	// Within the window, the stopped replica's last counts still stand
	// beside its instances' new ones: counted twice, never more.
	// A live replica that HAProxy's checks took for down a moment (the
	// machine is busy) also hands its instances over: then each counts
	// twice at most.
	over := f.sum(t, withWindow(queryVersions)) - float64(truth.Instances())
	bound, flapped := float64(onStopped), f.othersWentDown(t)
	if flapped {
		bound = float64(truth.Instances())
	}
	if over < 0 || over > bound {
		t.Errorf("within the window the versions count %v instances more than there are; the stopped replica held %d (other replicas went down: %v)", over, onStopped, flapped)
	}
	t.Logf("%.0f instances counted twice within the window (the stopped replica held %d; other replicas went down: %v)", over, onStopped, flapped)
	time.Sleep(time.Until(stopped.Add(fleetWindow + 3*time.Second)))
	f.checkAnswers(t, truth)
	if left := time.Until(stopped.Add(fleetWindow + pause)); left < 0 {
		t.Errorf("the checks took until %v after round 2: round 2's instances may have left the window", -left)
	}
	f.checkNoRareLabelValue(t, truth)
	t.Logf("Prometheus head series: %d", f.headSeries(t))
}

func send(ctx context.Context, t *testing.T, cfg loadgen.Config, round int, truth *loadgen.Truth) {
	t.Helper()
	st, err := loadgen.Round(ctx, cfg, round, truth)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("round %d: %d updates in %v (%.0f/s), %d attempts refused", round, st.Accepted,
		st.Elapsed.Round(time.Millisecond), float64(st.Accepted)/st.Elapsed.Seconds(), st.Refused)
}

// checkAnswers waits until the README's queries give the ground truth.
func (f *fleet) checkAnswers(t *testing.T, truth *loadgen.Truth) {
	t.Helper()
	f.checkAgents(t, truth)
	f.eventually(t, withWindow(queryInstances), map[string]float64{"": float64(truth.Instances())})
	for j := range loadgen.Counters {
		name := loadgen.CounterName(j)
		f.eventually(t, fmt.Sprintf(queryCounter, name), map[string]float64{"": float64(truth.Counters[name])})
	}
	f.eventually(t, withWindow(queryVersions), folded(truth.Values(loadgen.Version), nil))
	f.eventually(t, withWindow(queryOS), folded(truth.Values(func(i, _ int) string { return loadgen.OS(i) }), nil))
	goroutines := 0.0
	for i := range truth.Instances() {
		goroutines += float64(loadgen.Goroutines(i))
	}
	f.eventually(t, withWindow(fmt.Sprintf(queryGoroutine, "count")), map[string]float64{"": float64(truth.Instances())})
	f.eventually(t, withWindow(fmt.Sprintf(queryGoroutine, "sum")), map[string]float64{"": goroutines})
}

// folded is a truth of instances per value as the fleet publishes it:
// values fewer than k instances hold add up in "other".
func folded(values map[string]int, _ any) map[string]float64 {
	out := map[string]float64{}
	for v, n := range values {
		if n < minInstances {
			v = "other"
		}
		out[v] += float64(n)
	}
	return out
}

// checkAgents: the threshold is each replica's, so a middling value may
// be published on one replica and in "other" on another. Every value's
// published figure is at most its true total, the common ones (published
// on every replica) are exact, and all series together, "other" and the
// zeros that end withdrawn series included, add up to the true total.
func (f *fleet) checkAgents(t *testing.T, truth *loadgen.Truth) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got, all := map[string]float64{}, 0.0
		for _, r := range f.query(t, queryAgents) {
			got[r.Metric["telemetry_value"]] = number(t, r.Value)
			all += number(t, r.Value)
		}
		var errs []string
		want := 0.0
		for v, n := range truth.Agents {
			want += float64(n)
			common := strings.HasPrefix(v, "ua-common-") || strings.HasPrefix(v, "ua-mid-")
			if g := got[v]; g > float64(n) || common && g != float64(n) {
				errs = append(errs, fmt.Sprintf("%s: %v, want %d", v, g, n))
			}
		}
		if all != want {
			errs = append(errs, fmt.Sprintf("all agents: %v, want %v", all, want))
		}
		if len(errs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", queryAgents, strings.Join(errs[:min(len(errs), 10)], "; "))
		}
		time.Sleep(2 * time.Second)
	}
}

// checkNoRareLabelValue reads every value of every label Prometheus holds
// and fails on any that fewer than k instances reported.
func (f *fleet) checkNoRareLabelValue(t *testing.T, truth *loadgen.Truth) {
	t.Helper()
	reported := truth.Reported()
	var names []string
	f.api(t, "/api/v1/labels", &names)
	checked := 0
	for _, name := range names {
		var values []string
		f.api(t, "/api/v1/label/"+url.PathEscape(name)+"/values", &values)
		for _, v := range values {
			checked++
			if n, ok := reported[v]; ok && n < minInstances {
				t.Errorf("label %s=%q is in Prometheus, reported by %d instances", name, v, n)
			}
			if strings.HasPrefix(v, "ua-own-") || strings.HasPrefix(v, "ua-tail-") || strings.HasPrefix(v, "dev-") || strings.Contains(v, "-0000-4000-8000-") {
				t.Errorf("label %s=%q names one instance", name, v)
			}
		}
	}
	t.Logf("%d label values read back, none reported by fewer than %d instances", checked, minInstances)
}

// api decodes the data of a Prometheus API answer.
func (f *fleet) api(t *testing.T, path string, data any) {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", f.promPort, path))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := struct {
		Status string
		Data   any
	}{Data: data}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("%s: %v (status %q)", path, err, body.Status)
	}
}

func (f *fleet) sum(t *testing.T, q string) float64 {
	total := 0.0
	for _, r := range f.query(t, q) {
		total += number(t, r.Value)
	}
	return total
}

// instancesOf is how many instances a replica counted in its last export.
func (f *fleet) instancesOf(t *testing.T, replica string) int {
	f.waitExported(t)
	n := f.sum(t, fmt.Sprintf(`last_over_time(fleet_processor_instances{fleet_replica=%q}[10s])`, replica))
	if n == 0 || math.IsNaN(n) {
		t.Fatalf("%s counted no instances", replica)
	}
	return int(n)
}

// othersWentDown reports whether HAProxy took a replica other than
// replica2 for down.
func (f *fleet) othersWentDown(t *testing.T) bool {
	log, err := os.ReadFile(filepath.Join(f.dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, " is DOWN") && !strings.Contains(line, "replica2 ") {
			t.Log(line)
			return true
		}
	}
	return false
}

// waitExported waits for two export intervals (EXPORT_INTERVAL=2s in
// startFleet) and the remote write behind them.
func (f *fleet) waitExported(*testing.T) { time.Sleep(6 * time.Second) }

// headSeries is Prometheus's count of series in its head block.
func (f *fleet) headSeries(t *testing.T) int {
	var status struct{ HeadStats struct{ NumSeries int } }
	f.api(t, "/api/v1/status/tsdb", &status)
	return status.HeadStats.NumSeries
}
