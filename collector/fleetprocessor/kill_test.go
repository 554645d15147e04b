package fleetprocessor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
)

// envKillChild makes the test binary a replica's fleet processor on the
// filestorage directory it names (TestMain), for the SIGKILL test.
const envKillChild = "FLEETPROCESSOR_KILL_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envKillChild); dir != "" {
		if err := runKillChild(dir, os.Stdin, os.Stdout); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// killValue is what update j of instance i adds to fleet.updates.
func killValue(i, j int) int64 { return int64(1 + j*100 + i) }

func killUpdate(i, j int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(attrInstanceID, instanceID(i))
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	addCount(ms, "updates", true, killValue(i, j))
	addValue(ms, "version", fmt.Sprintf("1.%d", j%4))
	addReading(ms, "goroutines", float64(j))
	return md
}

// runKillChild is the child: it starts a durable processor that exports
// every second on its own, prints "start <ns>", then takes lines from in:
// "u i j" (update j of instance i under its key: answered "ok i j" once
// ConsumeMetrics returned), "x" (an export now), "d" (an export whose
// fleet.updates total and start it prints). At the end of in it shuts
// down.
func runKillChild(dir string, in io.Reader, out io.Writer) error {
	host := newStorageHost(&childTB{}, dir, false)
	cfg := durableConfig()
	cfg.ExportInterval = time.Second
	// Its log goes to stderr, which the test's output shows.
	logger, err := zap.NewDevelopment()
	if err != nil {
		return err
	}
	set := processortest.NewNopSettings(Type)
	set.Logger = logger
	sink := new(consumertest.MetricsSink)
	tp := &testProcessor{fleetProcessor: newProcessor(cfg, set, sink), sink: sink}
	if err := tp.Start(context.Background(), host); err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	fmt.Fprintln(w, "start", tp.start.UnixNano())
	w.Flush()
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		var i, j int
		switch line := lines.Text(); {
		case line == "x":
			if err := tp.export(context.Background()); err != nil {
				return err
			}
		case line == "d":
			tp.sink.Reset()
			if err := tp.export(context.Background()); err != nil {
				return err
			}
			total, start := dumpUpdates(tp)
			fmt.Fprintln(w, "total", total, start)
		default:
			if _, err := fmt.Sscanf(line, "u %d %d", &i, &j); err != nil {
				return fmt.Errorf("line %q: %w", line, err)
			}
			if err := tp.ConsumeMetrics(withKey(updateKeyOf(i, j)), killUpdate(i, j)); err != nil {
				return err
			}
			fmt.Fprintln(w, "ok", i, j)
		}
		w.Flush()
	}
	return tp.Shutdown(context.Background())
}

// dumpUpdates reads fleet.updates from the last export sent: the export
// loop's may have reached the sink too, with older figures.
func dumpUpdates(tp *testProcessor) (total, start int64) {
	all := tp.sink.AllMetrics()
	for _, md := range slices.Backward(all) {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() == "fleet.updates" {
						dp := m.Sum().DataPoints().At(0)
						return dp.IntValue(), int64(dp.StartTimestamp())
					}
				}
			}
		}
	}
	return -1, -1
}

// childTB lets the test helpers run in the child, where a failure is the
// end of the process.
type childTB struct{ testing.TB }

func (*childTB) Helper() {}
func (*childTB) Fatal(args ...any) {
	fmt.Println(append([]any{"error"}, args...)...)
	os.Exit(1)
}

// killChild is a running child and what it acknowledged.
type killChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startKillChild(t *testing.T, dir string) *killChild {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envKillChild+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that stops early leaves no child behind (after Wait, Kill
	// does nothing).
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	c := &killChild{cmd: cmd, stdin: stdin, lines: make(chan string, 1024)}
	go func() {
		defer close(c.lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			c.lines <- s.Text()
		}
	}()
	return c
}

// A replica SIGKILLed at random moments, over and over, and restarted on
// its filestorage directory, while its clients resend every update it did
// not acknowledge under the same key: at the end its total is every
// update's figure exactly once, on one series that never restarted.
func TestASIGKILLedReplicaCountsEveryUpdateOnce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 19))
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	const instances, rounds, perRound = 20, 8, 1500
	next := make([]int, instances) // the next update of each instance
	unacked := map[[2]int]bool{}   // sent, not acknowledged yet
	var want int64
	starts := map[int64]int{}
	var resent, killedWith int
	for round := range rounds + 1 {
		final := round == rounds
		var lines []string
		for u := range unacked {
			lines = append(lines, fmt.Sprintf("u %d %d", u[0], u[1]))
		}
		resent += len(lines)
		for n := 0; n < perRound && !final; n++ {
			i := rng.IntN(instances)
			u := [2]int{i, next[i]}
			next[i]++
			unacked[u] = true
			want += killValue(u[0], u[1])
			lines = append(lines, fmt.Sprintf("u %d %d", u[0], u[1]))
			if rng.IntN(200) == 0 {
				lines = append(lines, "x") // a snapshot between two updates
			}
		}
		if final {
			lines = append(lines, "d")
		}
		c := startKillChild(t, dir)
		began, before := time.Now(), len(unacked)
		go c.write(lines, final)
		var kill <-chan time.Time
		if !final {
			kill = time.After(time.Duration(rng.IntN(500)) * time.Millisecond)
		}
		total, start := c.read(t, kill, unacked, starts)
		if err := c.cmd.Wait(); final && err != nil {
			t.Fatalf("the last child: %v", err)
		}
		t.Logf("round %d: %d acknowledged in %v", round, before-len(unacked), time.Since(began))
		if !final {
			killedWith += len(unacked)
			continue
		}
		if len(unacked) > 0 {
			t.Fatalf("%d updates never acknowledged", len(unacked))
		}
		if total != want {
			t.Errorf("fleet.updates %d, want %d: %+d (seed %d)", total, want, total-want, seed)
		}
		if len(starts) != 1 || starts[start] == 0 {
			t.Errorf("the series started at %v over the rounds, and the last export's at %d", starts, start)
		}
	}
	updates := 0
	for _, n := range next {
		updates += n
	}
	t.Logf("%d kills, %d updates, %d sent again (%d unacknowledged at the kills), total %d", rounds, updates, resent, killedWith, want)
}

// write sends lines; the stdin stays open (a child that reads to its end
// shuts down cleanly) but in the final round. A killed child's pipe
// refuses the rest.
func (c *killChild) write(lines []string, final bool) {
	w := bufio.NewWriter(c.stdin)
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return
		}
	}
	w.Flush()
	if final {
		c.stdin.Close()
	}
}

// read takes the child's answers to their end, SIGKILLing it when kill
// fires: acknowledged updates leave unacked, starts counts each start
// printed, and the dump's total and start are returned.
func (c *killChild) read(t *testing.T, kill <-chan time.Time, unacked map[[2]int]bool, starts map[int64]int) (total, start int64) {
	t.Helper()
	for {
		select {
		case <-kill:
			if err := c.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			kill = nil
		case line, ok := <-c.lines:
			if !ok {
				return total, start
			}
			f := strings.Fields(line)
			var a, b int64
			if len(f) == 3 {
				fmt.Sscan(f[1], &a)
				fmt.Sscan(f[2], &b)
			}
			switch {
			case len(f) == 2 && f[0] == "start":
				fmt.Sscan(f[1], &a)
				starts[a]++
			case len(f) == 3 && f[0] == "ok":
				delete(unacked, [2]int{int(a), int(b)})
			case len(f) == 3 && f[0] == "total":
				total, start = a, b
			default:
				t.Errorf("the child says %q", line)
			}
		}
	}
}
