package exporter_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// Environment of a checkpointing child (TestMain runs the test binary
// again as one).
const (
	checkpointChildEnv    = "EXPORTER_CHECKPOINT_CHILD" // the spool directory
	checkpointEndpointEnv = "EXPORTER_CHECKPOINT_ENDPOINT"
	checkpointLogEnv      = "EXPORTER_CHECKPOINT_LOG"
	// checkpointFlushEnv, when set, is how often the child sends an
	// update (ForceFlush), besides its checkpoints.
	checkpointFlushEnv = "EXPORTER_CHECKPOINT_FLUSH"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(checkpointChildEnv); dir != "" {
		os.Exit(runCheckpointChild(dir))
	}
	if dir := os.Getenv(answerLostChildEnv); dir != "" {
		os.Exit(runAnswerLostChild(dir))
	}
	os.Exit(m.Run())
}

// runCheckpointChild records a native counter, one increment a
// millisecond, until it is killed. After each Add returns, it appends the
// time to its log with one write(2), so that the log has every increment
// that returned, but for the last one at most.
func runCheckpointChild(dir string) int {
	exp, err := exporter.New(exporter.WithEndpoint(os.Getenv(checkpointEndpointEnv)), exporter.WithInstanceID(testID),
		exporter.WithRuntimeFigures(false), exporter.WithSpool(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r := exporter.NewReader(exp) // checkpoints at the default interval
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	c, err := mp.Meter("m").Int64Counter("native")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log, err := os.OpenFile(os.Getenv(checkpointLogEnv), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r.Start()
	fmt.Println("started")
	ctx := context.Background()
	if every, err := time.ParseDuration(os.Getenv(checkpointFlushEnv)); err == nil {
		go func() {
			for {
				_ = r.ForceFlush(ctx)
				time.Sleep(every)
			}
		}()
	}
	line := make([]byte, 0, 32)
	for {
		c.Add(ctx, 1)
		line = strconv.AppendInt(line[:0], time.Now().UnixNano(), 10)
		line = append(line, '\n')
		if _, err := log.Write(line); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		time.Sleep(time.Millisecond)
	}
}

// A process killed at a random moment loses at most the last checkpoint
// interval (and some slack) of what native instruments recorded, and no
// figure reaches the server twice: a clean process with the same spool
// sends what the killed one checkpointed.
func TestSIGKILLLosesAtMostTheLastCheckpointInterval(t *testing.T) {
	sigkillRounds(t, 3, "")
}

// The same, while the child also sends an update every few milliseconds,
// so that kills land in updates as well as in checkpoints: the journal's
// counts of integer sums, drained into an update and marked, are sent
// once, by the update or by the next process. The server counts an
// update sent again under the same Idempotency-Key once, as a server that
// honours the key does.
func TestSIGKILLDuringUpdatesCountsEachFigureOnce(t *testing.T) {
	sigkillRounds(t, 4, "7ms")
}

func sigkillRounds(t *testing.T, rounds int, flushEvery string) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	// The period is adaptive: at least 125 times a checkpoint's wall
	// time, which on a virtual disk is 1 to 5 ms even for one counter
	// (creating and renaming the file), so a period may stretch to about
	// half a second. The race detector and a loaded machine (CI runs every
	// package's tests at once on two cores) stretch a checkpoint to 14 ms
	// and more, and the period with it: 1.75 s of slack under -race was
	// once exceeded that way. The bound checked is the loss the adaptive
	// period allows on such a machine, not the 250 ms of an idle one.
	slack := time.Second
	if raceEnabled {
		slack = 3 * time.Second
	}
	window := exporter.DefaultCheckpointInterval + slack
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 18))
	for round := range rounds {
		dir := t.TempDir()
		logPath := filepath.Join(t.TempDir(), "recorded.log")
		s := servertest.New(t)
		s.SetFallback(servertest.JSON(payload.Response{NextUpdate: time.Hour}))

		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), checkpointChildEnv+"="+dir, checkpointEndpointEnv+"="+s.Endpoint(), checkpointLogEnv+"="+logPath, checkpointFlushEnv+"="+flushEvery)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "started\n" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("round %d: the child did not start: %q %v: %s", round, line, err, stderr.String())
		}
		time.Sleep(window + time.Duration(300+rng.IntN(1200))*time.Millisecond)
		if err := cmd.Process.Signal(os.Kill); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		_ = cmd.Wait()

		// A clean process with the same spool and instance sends what the
		// killed one left, and stops.
		r := exporter.NewReader(newExporter(t, s, exporter.WithSpool(dir)))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
		r.Start()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := mp.Shutdown(ctx); err != nil {
			t.Errorf("round %d: Shutdown: %v", round, err)
		}
		cancel()

		var received int64
		seen := map[string]bool{}
		for _, req := range s.Requests() {
			if req.Key != "" && seen[req.Key] {
				continue // sent again: counted once
			}
			seen[req.Key] = true
			if v, ok := req.Payload(t).Data["native"]; ok {
				received += int64(v.(float64))
			}
		}
		logged, early := recordedBefore(t, logPath, killed.Add(-window))
		t.Logf("round %d: %d increments logged, %d of them more than %v before the kill; the server received %d", round, logged, early, window, received)
		if received < early {
			t.Errorf("round %d: the server received %d increments; %d were recorded more than %v before the kill", round, received, early, window)
		}
		if received > logged+1 { // the last Add may have returned unlogged
			t.Errorf("round %d: the server received %d increments; %d were recorded", round, received, logged)
		}
		if early == 0 {
			t.Errorf("round %d: nothing was recorded %v before the kill: the test tests nothing", round, window)
		}
	}
}

// recordedBefore counts the increments in the log, and those logged
// before cut.
func recordedBefore(t *testing.T, path string, cut time.Time) (all, before int64) {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(text), "\n"), "\n") {
		if line == "" {
			continue
		}
		ns, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		all++
		if time.Unix(0, ns).Before(cut) {
			before++
		}
	}
	return all, before
}
