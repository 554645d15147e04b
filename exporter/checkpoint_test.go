package exporter_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// checkpointCount counts the checkpoints a Reader ended.
type checkpointCount struct {
	checkpoint atomic.Bool
	n          atomic.Int64
}

func (c *checkpointCount) BeginCollection(_ uint64, checkpoint bool) { c.checkpoint.Store(checkpoint) }

func (c *checkpointCount) EndCollection() {
	if c.checkpoint.Load() {
		c.n.Add(1)
	}
}

// await waits until n more checkpoints have ended, and for the last to
// have written what it collected.
func (c *checkpointCount) await(t *testing.T, n int64) {
	t.Helper()
	want := c.n.Load() + n + 1 // the one under way, if any, and n more
	deadline := time.Now().Add(10 * time.Second)
	for c.n.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d checkpoints in 10 s", c.n.Load()-want+n+1)
		}
		time.Sleep(time.Millisecond)
	}
}

// checkpointed is a started Reader over a spool in dir whose server wants
// no update after the first for an hour, checkpointing every `every`.
func checkpointed(t *testing.T, dir string, every time.Duration, opts ...exporter.Option) (*exporter.Reader, *sdkmetric.MeterProvider, *servertest.Server) {
	r, mp, s, _ := checkpointedCounting(t, dir, every, opts...)
	return r, mp, s
}

func checkpointedCounting(t *testing.T, dir string, every time.Duration, opts ...exporter.Option) (*exporter.Reader, *sdkmetric.MeterProvider, *servertest.Server, *checkpointCount) {
	t.Helper()
	s := servertest.New(t)
	s.SetFallback(servertest.JSON(payload.Response{NextUpdate: time.Hour}))
	count := new(checkpointCount)
	r := exporter.NewReader(newExporter(t, s, append([]exporter.Option{exporter.WithSpool(dir)}, opts...)...),
		exporter.WithCheckpointInterval(every), exporter.WithHandover(count))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	r.Start()
	s.Wait(t, 1)
	return r, mp, s, count
}

// carriedFigures reads the value of each key in the test instance's
// carried file, with the file's info; nil when there is no such file.
func carriedFigures(t *testing.T, dir string) (map[string]string, os.FileInfo) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(instanceDir(dir), "carried-*.json"))
	if len(names) == 0 {
		return nil, nil
	}
	if len(names) > 1 {
		t.Fatalf("carried files %v, want one", names)
	}
	info, err := os.Stat(names[0])
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Entries []struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(text, &file); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	out := map[string]string{}
	for _, en := range file.Entries {
		out[en.Key] = string(en.Value)
	}
	return out, info
}

// waitCarried waits until the carried file holds want for key.
func waitCarried(t *testing.T, dir, key, want string) os.FileInfo {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, info := carriedFigures(t, dir)
		if got[key] == want {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("carried %s = %q after 5 s, want %s (file: %v)", key, got[key], want, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Native instruments' figures that the journal cannot hold (a float sum
// here) reach the carried file between updates, merged checkpoint after
// checkpoint; a checkpoint of nothing new writes nothing; and the final
// update sends each figure once.
func TestCheckpointsKeepNativeFiguresOnDisk(t *testing.T) {
	dir := t.TempDir()
	r, mp, s, count := checkpointedCounting(t, dir, 10*time.Millisecond)
	ctx := context.Background()
	c, err := mp.Meter("m").Float64Counter("native")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(ctx, 5)
	before := waitCarried(t, dir, "native", "5")
	count.await(t, 3) // checkpoints of nothing
	// A rewrite is a new file renamed over the old (whose inode number a
	// later one may take again), written later.
	if _, after := carriedFigures(t, dir); after == nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("checkpoints of nothing new rewrote the carried file")
	}
	c.Add(ctx, 2)
	waitCarried(t, dir, "native", "7")

	if err := r.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Requests(); len(got) != 2 {
		t.Fatalf("%d updates, want the first and the final", len(got))
	}
	expectJSON(t, lastData(t, s), map[string]string{"native": "7"})
}

func TestCheckpointsCanBeTurnedOff(t *testing.T) {
	dir := t.TempDir()
	_, mp, _ := checkpointed(t, dir, 0)
	c, err := mp.Meter("m").Float64Counter("native") // kept in the carried file
	if err != nil {
		t.Fatal(err)
	}
	c.Add(context.Background(), 5)
	time.Sleep(300 * time.Millisecond) // longer than the default interval
	if got, _ := carriedFigures(t, dir); got != nil {
		t.Errorf("checkpoints that were turned off carried %v", got)
	}
}

// A spool that stops working is reported once, however many checkpoints
// fail, and its recovery once.
func TestCheckpointFailuresAreReportedOncePerStreak(t *testing.T) {
	dir := t.TempDir()
	var seen problems
	_, mp, _, count := checkpointedCounting(t, dir, 5*time.Millisecond, seen.option())
	c, err := mp.Meter("m").Float64Counter("native") // kept in the carried file
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	inst := instanceDir(dir)
	if err := os.Rename(inst, inst+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inst, nil, 0o600); err != nil { // a file in its place
		t.Fatal(err)
	}
	for range 10 {
		c.Add(ctx, 3)
		count.await(t, 1)
	}
	count.await(t, 3) // checkpoints of nothing new, whose figures are not on disk either
	if n := seen.containing("stay in memory only"); n != 1 {
		t.Errorf("a failing spool was reported %d times in 13 failed checkpoints, want once: %v", n, seen.errs)
	}
	if n := seen.containing("on disk again"); n != 0 {
		t.Errorf("checkpoints of nothing new were reported keeping figures on disk: %v", seen.errs)
	}
	if err := os.Remove(inst); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(inst+".away", inst); err != nil {
		t.Fatal(err)
	}
	c.Add(ctx, 1)
	waitCarried(t, dir, "native", "31")
	for end := time.Now().Add(time.Second); seen.containing("on disk again") == 0 && time.Now().Before(end); {
		time.Sleep(time.Millisecond) // reported once the checkpoint that wrote the file returns
	}
	if n := seen.containing("on disk again"); n != 1 {
		t.Errorf("the recovery was reported %d times, want once: %v", n, seen.errs)
	}
}

// With checkpoints as often as can be while a counter is recorded without
// pause, Shutdown returns at once and the server gets every increment once.
func TestShutdownIsPromptAndExactWithCheckpoints(t *testing.T) {
	dir := t.TempDir()
	r, mp, s := checkpointed(t, dir, time.Microsecond)
	c, err := mp.Meter("m").Int64Counter("native")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var recorded atomic.Int64
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			c.Add(ctx, 1)
			recorded.Add(1)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	<-stopped
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := r.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Shutdown took %v", took)
	}
	var total int64
	for _, req := range s.Requests() {
		if v, ok := req.Payload(t).Data["native"]; ok {
			total += int64(v.(float64))
		}
	}
	if total != recorded.Load() {
		t.Errorf("the server got %d increments, %d were recorded", total, recorded.Load())
	}
	if names, _ := filepath.Glob(filepath.Join(instanceDir(dir), "*.json")); len(names) > 0 {
		t.Errorf("files left after a delivered final update: %v", strings.Join(names, ", "))
	}
}
