package deploy_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The chaos round (issue 19): updates cross HAProxy, then a fault proxy
// per replica that hangs up on a share of the updates the replica has
// accepted; clients are SIGKILLed at random and started again on their
// spool; then one replica is SIGKILLed. The ledger the proxies keep says
// which replica accepted which update (by Idempotency-Key), so that every
// difference between what the clients recorded and what Prometheus holds
// is accounted for.
const (
	chaosReplicas    = 3
	chaosClientCount = 6
	chaosDropShare   = 0.25
	chaosNextUpdate  = time.Second
	chaosExport      = time.Second
	chaosBatch       = time.Second // replica.yaml's batch timeout
	chaosPhase       = 25 * time.Second
	// chaosKillAfter is when, in phases 2 and 3, a replica is SIGKILLed.
	chaosKillAfter = 10 * time.Second
	// chaosRestartAfter is how long a crashed replica stays down in phase 2.
	chaosRestartAfter = 2 * time.Second
	queryChaos        = `sum by (fleet_replica) (last_over_time(fleet_chaos[1d]))`
	// chaosExtraConfigEnv names one more configuration file laid over the
	// replicas' (for checking that the round fails when they ignore
	// Idempotency-Key: idempotency.max_keys 0).
	chaosExtraConfigEnv = "TELEMETRY_CHAOS_EXTRA_CONFIG"
)

func TestFleetChaosCountsEveryFigureOnce(t *testing.T) {
	if os.Getenv(e2eEnv) != "1" {
		t.Skip("starts HAProxy, Prometheus, three replicas and client processes: set " + e2eEnv + "=1 (.ci/run does)")
	}
	l := newLedger()
	f := startChaosFleet(t, l)
	clients := newChaosClients(f.fleet.endpoint(), t.TempDir())

	// Phase 1: answers lost after the replica accepted, clients killed
	// and restarted. Every figure must be counted once, exactly.
	clients.run(t, chaosPhase, nil)
	clients.drain(t)
	recorded := clients.recorded()
	got := f.waitForLedger(t, l, "")
	tot := l.totals()
	t.Logf("phase 1: recorded %d in %d processes (%d SIGKILLed); %d updates, %d answers dropped, %d repeats of a key to the replica that had it, %d updates never answered; Prometheus %v",
		recorded, clients.processes(), clients.kills(), tot.keys, f.dropped(), tot.repeats, tot.unanswered, got)
	if tot.distinct != float64(recorded) {
		t.Errorf("phase 1: the replicas accepted %v under distinct keys, the clients recorded %d", tot.distinct, recorded)
	}
	if tot.duplicated != 0 {
		t.Errorf("phase 1: %v counted by two replicas with no replica down", tot.duplicated)
	}
	if s := sumOf(got); s != float64(recorded) {
		t.Errorf("phase 1: Prometheus holds %v, the clients recorded %d", s, recorded)
	}
	if f.dropped() == 0 || clients.kills() == 0 {
		t.Errorf("phase 1 brought no fault: %d answers dropped, %d clients killed", f.dropped(), clients.kills())
	}
	if t.Failed() {
		t.FailNow() // phase 2's accounting starts from an exact phase 1
	}

	// Phase 2: the replica that took most in phase 1 (a few clients may
	// all hash to the others) crashes while clients report, and starts
	// again on its storage a moment later, as a supervisor restarts it; its
	// host stays on the network. Its instances wait for it (HAProxy takes a
	// replica for down only after longer) and resend what it did not
	// answer; its storage tells it what it had taken. Every figure counts
	// once, exactly.
	crashed := tot.busiest()
	clients.run(t, chaosPhase, func() {
		time.Sleep(chaosKillAfter)
		f.crashAndRestart(t, crashed)
	})
	clients.drain(t)
	recorded = clients.recorded()
	got = f.waitForLedger(t, l, "")
	tot = l.totals()
	t.Logf("phase 2 (with phase 1): recorded %d in %d processes (%d SIGKILLed), %s crashed and restarted; %d updates, %d answers dropped, %d repeats of a key to the replica that had it, %d updates never answered; Prometheus %v",
		recorded, clients.processes(), clients.kills(), crashed, tot.keys, f.dropped(), tot.repeats, tot.unanswered, got)
	if tot.distinct != float64(recorded) || tot.duplicated != 0 || sumOf(got) != float64(recorded) {
		t.Errorf("phase 2: the clients recorded %d; the replicas accepted %v under distinct keys, %v by two replicas; Prometheus holds %v",
			recorded, tot.distinct, tot.duplicated, sumOf(got))
	}
	if t.Failed() {
		t.FailNow()
	}

	// Phase 3: the same, and a replica's host is lost for good (SIGKILL,
	// off the network): HAProxy moves its instances to the others.
	killed := tot.busiest()
	var killedAt time.Time
	clients.run(t, chaosPhase, func() {
		time.Sleep(chaosKillAfter)
		killedAt = time.Now()
		f.killReplica(t, killed)
	})
	clients.drain(t)
	recorded = clients.recorded()
	got = f.waitForLedger(t, l, killed)
	tot = l.totals()
	t.Logf("phase 3 (with phases 1 and 2): recorded %d in %d processes (%d SIGKILLed); %d updates, %d answers dropped, %d repeats of a key to the replica that had it, %d updates never answered",
		recorded, clients.processes(), clients.kills(), tot.keys, f.dropped(), tot.repeats, tot.unanswered)
	f.checkAfterKill(t, l, got, recorded, killed, killedAt)
	for _, p := range l.problemList() {
		t.Error(p)
	}
}

// checkAfterKill accounts for every figure after a replica's SIGKILL. The
// clients' figures each reached the replicas under one key; the live
// replicas' series hold exactly what they accepted (waitForLedger); the
// killed replica lost what it accepted after its last write, and a key it
// had written that a client sent again to another replica (the answer was
// lost) counts twice. Prometheus = recorded + duplicated - lost, exactly,
// and what is lost stays within what the killed replica accepted after its
// last point that reached Prometheus, and within what it accepted in the
// last export and batch intervals (and a second) before the kill.
func (f *chaosFleet) checkAfterKill(t *testing.T, l *ledger, got map[string]float64, recorded int, killed string, killedAt time.Time) {
	t.Helper()
	tot := l.totals()
	lost := tot.byReplica[killed] - got[killed]
	recent := l.acceptedSince(killed, killedAt.Add(-chaosExport-chaosBatch-time.Second))
	t.Logf("phase 3: Prometheus %v = %v; %s accepted %v, wrote %v: lost %v (it accepted %v in the %v before the kill); counted by two replicas %v",
		got, sumOf(got), killed, tot.byReplica[killed], got[killed], lost, recent,
		chaosExport+chaosBatch+time.Second, tot.duplicated)
	// The fleet processor stamps a snapshot with the time it takes it,
	// under the lock its updates take, and the ledger's time of an update
	// is later than the update's: what was accepted after the last point
	// that reached Prometheus holds every lost figure (and, at the edge,
	// figures of that very point).
	written := f.lastWritten(t, killed)
	after := l.acceptedSince(killed, written)
	t.Logf("phase 3: %s's last point in Prometheus is from %v before the kill; it accepted %v after it",
		killed, killedAt.Sub(written).Round(time.Millisecond), after)
	if lost > after {
		t.Errorf("phase 3: %s lost %v, more than the %v it accepted after its last point in Prometheus", killed, lost, after)
	}
	if tot.distinct != float64(recorded) {
		t.Errorf("phase 3: the replicas accepted %v under distinct keys, the clients recorded %d", tot.distinct, recorded)
	}
	// The books close: this follows from the check above and the live
	// replicas' exactness (waitForLedger), and states the round's figures.
	if want := float64(recorded) + tot.duplicated - lost; sumOf(got) != want {
		t.Errorf("phase 3: Prometheus holds %v, want recorded %d + duplicated %v - lost %v = %v",
			sumOf(got), recorded, tot.duplicated, lost, want)
	}
	if lost < 0 || lost > recent {
		t.Errorf("phase 3: %s lost %v, outside 0 .. %v (what it accepted in the %v before the kill)",
			killed, lost, recent, chaosExport+chaosBatch+time.Second)
	}
}

// lastWritten is the time of the last point of a replica's fleet_chaos.
func (f *chaosFleet) lastWritten(t *testing.T, replica string) time.Time {
	t.Helper()
	res := f.fleet.query(t, `fleet_chaos{fleet_replica="`+replica+`"}[1d]`)
	if len(res) != 1 || len(res[0].Values) == 0 {
		t.Fatalf("%d series of %s's fleet_chaos", len(res), replica)
	}
	last := res[0].Values[len(res[0].Values)-1]
	sec, ok := last[0].(float64)
	if !ok {
		t.Fatalf("a point of %s's fleet_chaos at %v", replica, last[0])
	}
	return time.Unix(0, int64(sec*1e9))
}

func sumOf(m map[string]float64) float64 {
	s := 0.0
	for _, v := range m {
		s += v
	}
	return s
}

// chaosFleet is the chaos round's own fleet: Prometheus, replicas of
// fleet.sh's binary and replica.yaml (with chaos-replica.yaml laid over
// it), a fault proxy in front of each, and HAProxy with fleet.sh's
// haproxy.cfg pointing at the proxies.
type chaosFleet struct {
	fleet    *fleet
	replicas map[string]*exec.Cmd
	proxies  map[string]*faultProxy
	// start starts a replica's process (again after a crash: the same
	// settings and storage).
	start map[string]func(log string) *exec.Cmd
}

func (f *chaosFleet) dropped() int64 {
	n := int64(0)
	for _, p := range f.proxies {
		n += p.dropped.Load()
	}
	return n
}

func startChaosFleet(t *testing.T, l *ledger) *chaosFleet {
	dir := t.TempDir()
	f := &chaosFleet{fleet: &fleet{dir: dir, port: freePorts(t, 1), promPort: freePorts(t, 1)},
		replicas: map[string]*exec.Cmd{}, proxies: map[string]*faultProxy{}, start: map[string]func(string) *exec.Cmd{}}
	bin := filepath.Join(dir, "telemetrycol")
	build := exec.Command("go", "build", "-o", bin, "./cmd/telemetrycol")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building telemetrycol: %v\n%s", err, out)
	}
	startProcess(t, dir, "prometheus", nil, "prometheus", "--config.file=prometheus.yml",
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(f.fleet.promPort), "--web.enable-remote-write-receiver")
	cfg, err := os.ReadFile("haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	configs := []string{"--config", "replica.yaml", "--config", "chaos-replica.yaml"}
	if extra := os.Getenv(chaosExtraConfigEnv); extra != "" {
		configs = append(configs, "--config", extra)
	}
	first := freePorts(t, chaosReplicas)
	for i := 1; i <= chaosReplicas; i++ {
		name, addr := "replica"+strconv.Itoa(i), "127.0.0.1:"+strconv.Itoa(first+i-1)
		env := []string{"REPLICA_ENDPOINT=" + addr,
			"REMOTE_WRITE_URL=http://127.0.0.1:" + strconv.Itoa(f.fleet.promPort) + "/api/v1/write",
			"REPLICA_NAME=" + name, "REPLICA_STORAGE_DIR=" + filepath.Join(dir, name+"-storage"),
			"NEXT_UPDATE=" + chaosNextUpdate.String(), "FLEET_WINDOW=10m",
			"EXPORT_INTERVAL=" + chaosExport.String(), "MIN_INSTANCES=1", "SAMPLE_RATE=0", "MEMORY_LIMIT_MIB=256"}
		f.start[name] = func(log string) *exec.Cmd { return startProcess(t, dir, log, env, bin, configs...) }
		f.replicas[name] = f.start[name](name)
		p, err := startFaultProxy(name, "http://"+addr, chaosDropShare, l)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.close)
		f.proxies[name] = p
		cfg = fmt.Appendf(cfg, "  server %s %s\n", name, p.addr)
		waitListening(t, addr)
	}
	haCfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(haCfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	startProcess(t, dir, "haproxy", []string{"FLEET_DIR=" + dir, "FLEET_ADDR=127.0.0.1:" + strconv.Itoa(f.fleet.port)},
		"haproxy", "-db", "-f", haCfg)
	waitListening(t, "127.0.0.1:"+strconv.Itoa(f.fleet.promPort))
	waitListening(t, "127.0.0.1:"+strconv.Itoa(f.fleet.port))
	return f
}

// startProcess starts a process of the fleet with its output in
// dir/name.log; the test's cleanup kills it (it is the test's own).
func startProcess(t *testing.T, dir, name string, env []string, bin string, args ...string) *exec.Cmd {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = log.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return cmd
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for range 300 {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after 30 s", addr)
}

// crashAndRestart SIGKILLs a replica's process and starts it again on the
// same storage after chaosRestartAfter; its proxy (its host) stays up and
// answers 502 meanwhile, as HAProxy answers 503 for a refused connection.
func (f *chaosFleet) crashAndRestart(t *testing.T, name string) {
	if err := f.replicas[name].Process.Kill(); err != nil {
		t.Errorf("SIGKILL %s: %v", name, err)
	}
	// startProcess's goroutine reaps it; the port is free once it has.
	for pid := f.replicas[name].Process.Pid; syscall.Kill(pid, 0) == nil; {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(chaosRestartAfter)
	f.replicas[name] = f.start[name](name + "-restarted")
}

// killReplica SIGKILLs a replica and takes its host off the network: its
// proxy stops listening, so that HAProxy's checks find it down.
func (f *chaosFleet) killReplica(t *testing.T, name string) {
	cmd := f.replicas[name]
	if err := cmd.Process.Kill(); err != nil {
		t.Errorf("SIGKILL %s: %v", name, err)
	}
	f.proxies[name].close()
}

// waitForLedger waits until each live replica's series in Prometheus
// holds exactly what the ledger says it accepted, and the killed one's
// (if any) has stopped changing; it returns the series by replica (after
// a minute, as they are, with an error).
func (f *chaosFleet) waitForLedger(t *testing.T, l *ledger, killed string) map[string]float64 {
	t.Helper()
	var got, prev map[string]float64
	deadline := time.Now().Add(time.Minute)
	for {
		want := l.totals().byReplica
		prev, got = got, map[string]float64{}
		for _, r := range f.fleet.query(t, queryChaos) {
			got[r.Metric["fleet_replica"]] = number(t, r.Value)
		}
		settled := prev != nil && prev[killed] == got[killed]
		for name := range f.replicas {
			if name != killed && got[name] != want[name] {
				settled = false
			}
		}
		if settled {
			return got
		}
		if time.Now().After(deadline) {
			t.Errorf("Prometheus holds %v by replica, the replicas accepted %v under distinct keys", got, want)
			return got
		}
		time.Sleep(2 * time.Second)
	}
}

// chaosClients are client slots: each one instance and spool directory,
// run by one process after another.
type chaosClients struct {
	endpoint string
	slots    []*chaosSlot
}

type chaosSlot struct {
	id                      uuid.UUID
	spool, log              string // the processes' standard error goes to log
	recorded, kills, starts int
}

func newChaosClients(endpoint, dir string) *chaosClients {
	c := &chaosClients{endpoint: endpoint}
	for i := range chaosClientCount {
		name := filepath.Join(dir, "client"+strconv.Itoa(i))
		c.slots = append(c.slots, &chaosSlot{id: uuid.New(), spool: name, log: name + ".log"})
	}
	return c
}

// run runs every slot for d: a process records small increases at random
// moments, is SIGKILLed after a random life, and another starts on its
// spool. during, if set, runs beside them.
func (c *chaosClients) run(t *testing.T, d time.Duration, during func()) {
	t.Helper()
	until := time.Now().Add(d)
	var wg sync.WaitGroup
	errs := make([]error, len(c.slots))
	for i, s := range c.slots {
		wg.Go(func() { errs[i] = s.run(c.endpoint, until) })
	}
	if during != nil {
		wg.Go(during)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (s *chaosSlot) run(endpoint string, until time.Time) error {
	for time.Now().Before(until) {
		child, err := startChaosChild("record", s.id, endpoint, s.spool, s.log)
		if err != nil {
			return err
		}
		s.starts++
		if err := child.expect("started"); err != nil {
			child.kill()
			return err
		}
		life := time.Now().Add(time.Duration(rand.Int64N(int64(4*time.Second))) + 200*time.Millisecond)
		for time.Now().Before(life) && time.Now().Before(until) {
			n := rand.IntN(9) + 1
			if err := child.add(n); err != nil {
				child.kill()
				return err
			}
			s.recorded += n
			time.Sleep(time.Duration(rand.Int64N(int64(100 * time.Millisecond))))
		}
		child.kill()
		s.kills++
	}
	return nil
}

// drain runs, on every slot's spool, a process that records nothing and
// stops cleanly: it sends what the killed ones left.
func (c *chaosClients) drain(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(c.slots))
	for i, s := range c.slots {
		wg.Go(func() {
			child, err := startChaosChild("drain", s.id, c.endpoint, s.spool, s.log)
			if err != nil {
				errs[i] = err
				return
			}
			defer child.kill()
			s.starts++
			if errs[i] = child.expect("started"); errs[i] == nil {
				errs[i] = child.expect("stopped")
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func (c *chaosClients) recorded() int  { return c.sum(func(s *chaosSlot) int { return s.recorded }) }
func (c *chaosClients) kills() int     { return c.sum(func(s *chaosSlot) int { return s.kills }) }
func (c *chaosClients) processes() int { return c.sum(func(s *chaosSlot) int { return s.starts }) }

func (c *chaosClients) sum(of func(*chaosSlot) int) int {
	n := 0
	for _, s := range c.slots {
		n += of(s)
	}
	return n
}
