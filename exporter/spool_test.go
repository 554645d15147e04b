package exporter_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/internal/servertest"
	"github.com/telemetrybridge/telemetry/payload"
)

// problems collects what an exporter reports.
type problems struct {
	mu   sync.Mutex
	errs []error
}

func (p *problems) option() exporter.Option {
	return exporter.WithErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.errs = append(p.errs, err)
	}))
}

func (p *problems) containing(part string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, err := range p.errs {
		if strings.Contains(err.Error(), part) {
			n++
		}
	}
	return n
}

// instanceDir is where the test instance's files are kept in the spool
// directory dir.
func instanceDir(dir string) string { return exporter.SpoolInstanceDir(dir, testID) }

// figureFiles lists the test instance's figure files in the spool
// directory dir.
func figureFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	entries, err := os.ReadDir(instanceDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".json") && (strings.HasPrefix(n, "carried-") || strings.HasPrefix(n, "update-")) {
			out = append(out, n)
		}
	}
	return out
}

func lastData(t *testing.T, s *servertest.Server) map[string]string {
	t.Helper()
	got := s.Requests()
	if len(got) == 0 {
		t.Fatal("nothing was sent")
	}
	return encodeAll(t, got[len(got)-1].Payload(t).Data)
}

// countOver sums the integer figure of key over every update s received.
func countOver(t *testing.T, s *servertest.Server, key string) int {
	t.Helper()
	n := 0
	for _, r := range s.Requests() {
		n += r.Payload(t).Int(key)
	}
	return n
}

// Every kind of figure an update can carry comes back from the spool and
// merges with the next process's figures by the carry-over rules.
func TestSpooledFiguresMergeIntoTheNextProcess(t *testing.T) {
	dir := t.TempDir()
	down := servertest.New(t)
	// The server cannot be reached: the figures are carried.
	first := newExporter(t, down, fastRetry(1), exporter.WithSpool(dir), exporter.WithHTTPClient(refusingClient(t, 1)))
	ctx := context.Background()
	if err := first.Export(ctx, collection(
		sum("count", pt(5)),
		sum("set", member("a", 2)),
		gauge("list", element(0, "x"), element(1, "y")),
		gauge("version", pt(1)),
		gauge("build", sub("cpus", 2), sub("mem", 8)),
		histogram(2, 3, 1, 1),
	)); err == nil {
		t.Fatal("delivered to a server that is down")
	}
	if files := figureFiles(t, dir); len(files) != 1 || !strings.HasPrefix(files[0], "carried-") {
		t.Fatalf("after a failed update the spool holds %v, want one carried file", files)
	}
	_ = first.Shutdown(ctx) // the process ends

	up := servertest.New(t)
	second := newExporter(t, up, exporter.WithSpool(dir))
	defer func() { _ = second.Shutdown(ctx) }()
	if err := second.Export(ctx, collection(
		sum("count", pt(2)),
		sum("set", member("a", 1), member("b", 1)),
		gauge("list", element(0, "z")),
		gauge("version", pt(2)),
		gauge("build", sub("cpus", 4)),
		histogram(1, 2, 0, 1),
	)); err != nil {
		t.Fatal(err)
	}
	expectJSON(t, lastData(t, up), map[string]string{
		"count":   `7`,
		"set":     `[{"count":3,"value":"a"},{"count":1,"value":"b"}]`,
		"list":    `["x","y","z"]`,
		"version": `2`,
		"build":   `{"cpus":4,"mem":8}`,
		"latency": `{"bounds":[1],"bucket_counts":[1,2],"count":3,"max":3,"min":0.5,"sum":5}`,
	})
	if files := figureFiles(t, dir); len(files) != 0 {
		t.Errorf("delivered figures are still spooled: %v", files)
	}
	if err := second.Export(ctx, collection()); err != nil {
		t.Fatal(err)
	}
	if data := lastData(t, up); len(data) != 0 {
		t.Errorf("spooled figures were sent twice: %v", data)
	}
}

// An exporter that still runs keeps its files: another one sharing the
// directory leaves them alone until the owner is gone.
func TestLiveOwnersFiguresAreNotClaimed(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	down := servertest.New(t)
	down.SetFallback(servertest.Reply{Status: http.StatusServiceUnavailable})
	owner := newExporter(t, down, fastRetry(1), exporter.WithSpool(dir))
	_ = owner.Export(ctx, collection(sum("count", pt(5))))

	up := servertest.New(t)
	other := newExporter(t, up, exporter.WithSpool(dir))
	defer func() { _ = other.Shutdown(ctx) }()
	if err := other.Export(ctx, collection(sum("count", pt(1)))); err != nil {
		t.Fatal(err)
	}
	expectJSON(t, lastData(t, up), map[string]string{"count": `1`})

	_ = owner.Shutdown(ctx)
	if err := other.Export(ctx, collection()); err != nil {
		t.Fatal(err)
	}
	expectJSON(t, lastData(t, up), map[string]string{"count": `5`})
}

// Two exporters started together on one directory, with figures left by
// a third that is gone: exactly one of them sends those figures.
func TestOrphansAreClaimedOnce(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	down := servertest.New(t)
	// The server cannot be reached: the figures are carried.
	gone := newExporter(t, down, fastRetry(1), exporter.WithSpool(dir), exporter.WithHTTPClient(refusingClient(t, 1)))
	_ = gone.Export(ctx, collection(sum("count", pt(7))))
	_ = gone.Shutdown(ctx)

	up := servertest.New(t)
	var wg sync.WaitGroup
	for range 2 {
		exp := newExporter(t, up, exporter.WithSpool(dir))
		wg.Go(func() {
			defer func() { _ = exp.Shutdown(ctx) }()
			if err := exp.Export(ctx, collection()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	total := 0
	for _, r := range up.Requests() {
		total += r.Payload(t).Int("count")
	}
	if total != 7 {
		t.Errorf("the two exporters sent %d counts in all, want the 7 spooled", total)
	}
}

// Files that cannot be used are reported once, renamed aside, and never
// sent; the good file beside them still is.
func TestUnusableSpoolFilesAreSetAside(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	down := servertest.New(t)
	down.SetFallback(servertest.Reply{Status: http.StatusServiceUnavailable})
	good := newExporter(t, down, fastRetry(1), exporter.WithSpool(dir))
	_ = good.Export(ctx, collection(sum("count", pt(3))))
	_ = good.Shutdown(ctx)
	files := figureFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("spool holds %v", files)
	}
	valid, err := os.ReadFile(filepath.Join(instanceDir(dir), files[0]))
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"truncated": string(valid[:len(valid)/2]),
		"corrupt":   "\x00\x01 not json",
		"future":    strings.Replace(string(valid), `"format":1`, `"format":2`, 1),
		"foreign":   strings.Replace(string(valid), `"instance":"`, `"instance":"ff`, 1),
		"wrongkind": strings.Replace(string(valid), `"kind":"number"`, `"kind":"nonsense"`, 1),
		"empty":     "",
	}
	for name, text := range bad {
		if err := os.WriteFile(filepath.Join(instanceDir(dir), "carried-"+name+".json"), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	var seen problems
	up := servertest.New(t)
	exp := newExporter(t, up, exporter.WithSpool(dir), seen.option())
	defer func() { _ = exp.Shutdown(ctx) }()
	for range 2 {
		if err := exp.Export(ctx, collection()); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, r := range up.Requests() {
		total += r.Payload(t).Int("count")
	}
	if total != 3 {
		t.Errorf("sent %d counts, want the good file's 3 only", total)
	}
	for name := range bad {
		if name == "foreign" {
			continue
		}
		if n := seen.containing("carried-" + name + ".json is not sent"); n != 1 {
			t.Errorf("%s file reported %d times, want once", name, n)
		}
		if _, err := os.Stat(filepath.Join(instanceDir(dir), "carried-"+name+".json.unreadable")); err != nil {
			t.Errorf("%s file not set aside: %v", name, err)
		}
	}
	// Another instance's file is not this one's to rename or delete.
	if n := seen.containing("carried-foreign.json is not read: it belongs to another instance"); n != 1 {
		t.Errorf("another instance's file reported %d times, want once", n)
	}
	if files := figureFiles(t, dir); len(files) != 1 || files[0] != "carried-foreign.json" {
		t.Errorf("figure files left: %v, want another instance's only", files)
	}
}

// A spool file stays within its byte limit: the keys that do not fit are
// left out whole and counted as dropped items.
func TestSpoolByteLimitCountsWhatDidNotFit(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	const limit = 2048
	down := servertest.New(t)
	down.SetFallback(servertest.Reply{Status: http.StatusServiceUnavailable})
	var seen problems
	first := newExporter(t, down, fastRetry(1), exporter.WithSpool(dir), exporter.WithSpoolLimit(limit), seen.option())
	var metrics []metricdata.Metrics
	for i := range 100 {
		metrics = append(metrics, sum("count_"+strconv.Itoa(100+i), pt(int64(i))))
	}
	_ = first.Export(ctx, collection(metrics...))
	_ = first.Shutdown(ctx)
	files := figureFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("spool holds %v", files)
	}
	if info, err := os.Stat(filepath.Join(instanceDir(dir), files[0])); err != nil || info.Size() > limit {
		t.Fatalf("spool file: %v, %v bytes; the limit is %d", err, info.Size(), limit)
	}
	if seen.containing("did not fit") == 0 {
		t.Error("leaving figures out was not reported")
	}

	up := servertest.New(t)
	second := newExporter(t, up, exporter.WithSpool(dir))
	defer func() { _ = second.Shutdown(ctx) }()
	if err := second.Export(ctx, collection()); err != nil {
		t.Fatal(err)
	}
	p := up.Requests()[0].Payload(t)
	kept := 0
	for k := range p.Data {
		if strings.HasPrefix(k, "count_") {
			kept++
		}
	}
	if dropped := p.Int(payload.KeyDropped); kept == 0 || kept+dropped != 100 {
		t.Errorf("%d keys sent and %d counted as dropped; want some sent and 100 in all", kept, dropped)
	}
}

// What the server said outlives the process: keys it disabled stay
// disabled (until it enables them), and a stop stays a stop.
func TestServerDirectivesOutliveTheProcess(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	run := func(s *servertest.Server, figures ...metricdata.Metrics) *exporter.Exporter {
		t.Helper()
		exp := newExporter(t, s, fastRetry(1), exporter.WithSpool(dir))
		_ = exp.Export(ctx, collection(figures...))
		_ = exp.Shutdown(ctx)
		return exp
	}
	disabling := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour, DisableKeys: []string{"secret"}}))
	run(disabling, sum("secret", pt(1)))

	restarted := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour, EnableKeys: []string{"secret"}}))
	run(restarted, sum("secret", pt(2)), sum("open", pt(1)))
	expectJSON(t, lastData(t, restarted), map[string]string{"open": `1`})

	enabled := servertest.New(t)
	run(enabled, sum("secret", pt(3)))
	expectJSON(t, lastData(t, enabled), map[string]string{"secret": `3`})

	for _, stop := range []servertest.Reply{
		servertest.JSON(payload.Response{Stop: true}),
		{Status: http.StatusGone},
		{Status: http.StatusUnavailableForLegalReasons},
	} {
		dir = t.TempDir()
		down := servertest.New(t)
		down.SetFallback(servertest.Reply{Status: http.StatusServiceUnavailable})
		run(down, sum("count", pt(1))) // leaves figures in the spool
		stopping := servertest.New(t, stop)
		if exp := run(stopping, sum("count", pt(1))); !exp.Stopped() {
			t.Fatalf("%+v did not stop the exporter", stop)
		}
		if files := figureFiles(t, dir); len(files) != 0 {
			t.Errorf("%+v left figures in the spool: %v", stop, files)
		}
		after := servertest.New(t)
		if exp := run(after, sum("count", pt(1))); !exp.Stopped() || len(after.Requests()) != 0 {
			t.Errorf("after %+v, a restarted exporter sent %d updates", stop, len(after.Requests()))
		}
	}
}

// A directory that cannot be used is reported, and the exporter carries
// its figures in memory as without a spool.
func TestUnusableSpoolDirectoryKeepsFiguresInMemory(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(parent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var seen problems
	s := servertest.New(t, servertest.Reply{Status: http.StatusServiceUnavailable})
	exp := newExporter(t, s, fastRetry(1), exporter.WithSpool(filepath.Join(parent, "spool")), seen.option())
	defer func() { _ = exp.Shutdown(context.Background()) }()
	if seen.containing("kept in memory only") != 1 {
		t.Fatalf("the unusable directory was not reported: %v", seen.errs)
	}
	_ = exp.Export(context.Background(), collection(sum("count", pt(4))))
	if err := exp.Export(context.Background(), collection()); err != nil {
		t.Fatal(err)
	}
	expectJSON(t, lastData(t, s), map[string]string{"count": `4`})
}

// Spool files are private to the user.
func TestSpoolFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s := servertest.New(t)
	s.SetFallback(servertest.Reply{Status: http.StatusServiceUnavailable})
	exp := newExporter(t, s, fastRetry(1), exporter.WithSpool(dir))
	defer func() { _ = exp.Shutdown(context.Background()) }()
	_ = exp.Export(context.Background(), collection(sum("count", pt(4))))
	for _, d := range []string{dir, instanceDir(dir)} {
		info, err := os.Stat(d)
		if err != nil || info.Mode().Perm() != 0o700 {
			t.Fatalf("directory %s: %v, mode %v", d, err, info.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(instanceDir(dir))
	if len(entries) == 0 {
		t.Fatal("nothing spooled")
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", e.Name(), err, info.Mode().Perm())
		}
	}
}

// A spool directory that stops working (removed, and a file put in its
// place, as a full or read-only disk would fail a write) costs nothing
// but the copy on disk: the failure is reported and the figures go with
// the next update.
func TestSpoolWriteFailureKeepsFiguresInMemory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	var seen problems
	s := servertest.New(t, servertest.Reply{Status: http.StatusServiceUnavailable})
	exp := newExporter(t, s, fastRetry(1), exporter.WithSpool(dir), seen.option())
	defer func() { _ = exp.Shutdown(context.Background()) }()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = exp.Export(context.Background(), collection(sum("count", pt(4))))
	if seen.containing("stay in memory only") == 0 {
		t.Fatalf("the failed write was not reported: %v", seen.errs)
	}
	if err := exp.Export(context.Background(), collection(sum("count", pt(1)))); err != nil {
		t.Fatal(err)
	}
	// The first update may have been seen: it went again as it was, and
	// the second after it.
	if n := countOver(t, s, "count"); n != 4+4+1 {
		t.Errorf("the server received count = %d over all updates, want 9 (4 twice, then 1)", n)
	}
}

// hostDeadline is the deadline of every call of a host whose spool holds
// what someone planted there.
const hostDeadline = 2 * time.Second

// inTime runs f and fails t unless it returns within hostDeadline (and a
// second of slack). A call that hangs is left behind.
func inTime(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hostDeadline + time.Second):
		t.Fatalf("%s did not return within its %v deadline", what, hostDeadline)
	}
}

// runHost runs a host on the spool directory dir as a server would, each
// call within its deadline: New; an update of its own figure (count 1)
// that the server refuses; an update that delivers it; Shutdown. It
// returns the server and what the exporter reported.
func runHost(t *testing.T, dir string, opts ...exporter.Option) (*servertest.Server, *problems) {
	t.Helper()
	var seen problems
	s := servertest.New(t, servertest.Reply{Status: http.StatusServiceUnavailable})
	all := append([]exporter.Option{
		exporter.WithEndpoint(s.Endpoint()), exporter.WithInstanceID(testID), exporter.WithRuntimeFigures(false),
		fastRetry(1), exporter.WithSpool(dir), seen.option(),
	}, opts...)
	var exp *exporter.Exporter
	var err error
	inTime(t, "exporter.New", func() { exp, err = exporter.New(all...) })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hostDeadline)
	defer cancel()
	inTime(t, "the refused Export", func() { err = exp.Export(ctx, collection(sum("count", pt(1)))) })
	if err == nil {
		t.Error("an update the server refused was reported delivered")
	}
	inTime(t, "Export", func() { err = exp.Export(ctx, collection()) })
	if err != nil {
		t.Errorf("the host's own update failed: %v", err)
	}
	inTime(t, "Shutdown", func() { err = exp.Shutdown(ctx) })
	if err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	return s, &seen
}

// expectOwnFigures checks that the server received two updates, each
// carrying want (the host's own count of 1, refused then carried, and what
// else the test expects), and nothing else.
func expectOwnFigures(t *testing.T, s *servertest.Server, want map[string]string) {
	t.Helper()
	got := s.Requests()
	if len(got) < 2 {
		t.Fatalf("the server received %d updates, want the refused one and at least one more", len(got))
	}
	expectJSON(t, encodeAll(t, distinctFigures(t, got)), want)
}

// distinctFigures is what a server that counts each update once (an
// update sent again has the same body) receives: the data of the distinct
// bodies, numbers of one key added up.
func distinctFigures(t *testing.T, got []servertest.Request) map[string]any {
	t.Helper()
	seen := map[string]bool{}
	out := map[string]any{}
	for _, r := range got {
		if seen[string(r.Body)] {
			continue
		}
		seen[string(r.Body)] = true
		for k, v := range r.Payload(t).Data {
			prev, had := out[k].(float64)
			if n, ok := v.(float64); ok && had {
				v = prev + n
			}
			out[k] = v
		}
	}
	return out
}

// plant writes a file into the test instance's directory under dir.
func plant(t *testing.T, dir, name, text string) string {
	t.Helper()
	inst := instanceDir(dir)
	if err := os.MkdirAll(inst, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(inst, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// spoolText is a spool file of the test instance holding the additive
// integers figures.
func spoolText(figures map[string]string) string {
	var entries []string
	for key, v := range figures {
		entries = append(entries, fmt.Sprintf(`{"key":%q,"kind":"number","additive":true,"float":false,"metric_type":"","value":%s}`, key, v))
	}
	return fmt.Sprintf(`{"format":1,"instance":%q,"entries":[%s]}`, exporter.InstanceHash(testID), strings.Join(entries, ","))
}

// A sparse file of 1 GiB in the spool is refused by its size, before it is
// read: it costs neither the heap nor the time to read it.
func TestGiantSpoolFileIsNotRead(t *testing.T) {
	dir := t.TempDir()
	path := plant(t, dir, "carried-giant.json", "")
	if err := os.Truncate(path, 1<<30); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, seen := runHost(t, dir)
	runtime.ReadMemStats(&after)
	expectOwnFigures(t, s, map[string]string{"count": `1`})
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("the host allocated %d MiB with a 1 GiB file in its spool", grew>>20)
	}
	if n := seen.containing("carried-giant.json is not sent"); n != 1 {
		t.Errorf("the giant file was reported %d times, want once: %v", n, seen.errs)
	}
}

// A spool file of the instance's own with integers beyond ±2^53 (a
// planted count of MaxInt64 would wrap when merged) or a key beyond 64 KiB
// has those entries left out and counted as dropped; the rest of the file
// is the instance's and is sent.
func TestSpooledFiguresOutOfBoundsAreNotSent(t *testing.T) {
	dir := t.TempDir()
	plant(t, dir, "update-planted-1.json", spoolText(map[string]string{
		"count":                     strconv.FormatInt(math.MaxInt64, 10),
		"negative":                  strconv.FormatInt(math.MinInt64, 10),
		strings.Repeat("k", 70_000): "1",
		"other":                     "5",
		"edge":                      strconv.FormatInt(1<<53, 10),
	}))
	s, seen := runHost(t, dir)
	expectOwnFigures(t, s, map[string]string{
		"count":            `1`,
		"other":            `5`,
		"edge":             strconv.FormatInt(1<<53, 10),
		payload.KeyDropped: `3`,
	})
	if n := seen.containing("3 items are not sent"); n != 1 {
		t.Errorf("leaving out the entries was reported %d times, want once: %v", n, seen.errs)
	}
}

// Two instances configured with the same spool directory keep their
// figures and the server's directives apart: each restarted process sends
// exactly its own instance's figures and obeys its own server's disables.
func TestInstancesSharingASpoolDirectoryKeepTheirOwn(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	otherID := uuid.MustParse("0b7e3a44-2f4b-4a39-8c1e-5d2b7c9e6f01")
	// Each instance's server disables a key, then goes down.
	for _, run := range []struct {
		id    uuid.UUID
		count int64
		key   string
	}{{testID, 3, "secret_a"}, {otherID, 5, "secret_b"}} {
		s := servertest.New(t, servertest.JSON(payload.Response{NextUpdate: time.Hour, DisableKeys: []string{run.key}}))
		s.SetFallback(servertest.Reply{Status: http.StatusServiceUnavailable})
		exp := newExporter(t, s, fastRetry(1), exporter.WithSpool(dir), exporter.WithInstanceID(run.id))
		_ = exp.Export(ctx, collection())
		_ = exp.Export(ctx, collection(sum("count", pt(run.count))))
		_ = exp.Shutdown(ctx)
	}
	for _, run := range []struct {
		id       uuid.UUID
		want     string
		disabled string
	}{{otherID, `5`, "secret_b"}, {testID, `3`, "secret_a"}} {
		if _, err := os.Stat(filepath.Join(exporter.SpoolInstanceDir(dir, run.id), "directives.json")); err != nil {
			t.Errorf("the instance has no directives of its own: %v", err)
		}
		up := servertest.New(t)
		exp := newExporter(t, up, exporter.WithSpool(dir), exporter.WithInstanceID(run.id))
		if err := exp.Export(ctx, collection(sum("secret_a", pt(1)), sum("secret_b", pt(1)))); err != nil {
			t.Fatal(err)
		}
		_ = exp.Shutdown(ctx)
		want := map[string]string{"count": run.want, "secret_a": `1`, "secret_b": `1`}
		delete(want, run.disabled)
		expectJSON(t, encodeAll(t, distinctFigures(t, up.Requests())), want)
	}
}

// The server may disable keys of any length, but directives.json stays
// within 1 MiB: keys beyond 64 KiB are not kept on disk, nor those past the
// bound; they stay disabled in the process, and this is reported once.
func TestSpooledDirectivesAreBoundedInBytes(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	long := func(prefix byte, n int) []string {
		var keys []string
		for i := range n {
			keys = append(keys, fmt.Sprintf("%c%02d", prefix, i)+strings.Repeat("x", 60_000))
		}
		return keys
	}
	first, second := long('a', 15), long('b', 15)
	huge := "0" + strings.Repeat("h", 900_000) // sorted first, as the file is written
	s := servertest.New(t,
		servertest.JSON(payload.Response{NextUpdate: time.Hour, DisableKeys: first}),
		servertest.JSON(payload.Response{NextUpdate: time.Hour, DisableKeys: second}),
		servertest.JSON(payload.Response{NextUpdate: time.Hour, DisableKeys: []string{huge}}),
	)
	var seen problems
	exp := newExporter(t, s, exporter.WithSpool(dir), seen.option())
	for range 3 {
		if err := exp.Export(ctx, collection()); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range append(append([]string{huge}, first...), second...) {
		if !exp.KeyDisabled(k) {
			t.Fatalf("a disabled key of %d bytes is enabled in the process", len(k))
		}
	}
	_ = exp.Shutdown(ctx)
	info, err := os.Stat(filepath.Join(instanceDir(dir), "directives.json"))
	if err != nil || info.Size() > 1<<20 {
		t.Fatalf("directives.json: %v, %d bytes; want at most 1 MiB", err, info.Size())
	}
	if n := seen.containing("are not kept in directives.json"); n != 1 {
		t.Errorf("keys left off disk reported %d times, want once: %v", n, seen.errs)
	}

	if data, _ := os.ReadFile(filepath.Join(instanceDir(dir), "directives.json")); strings.Contains(string(data), huge[:1000]) {
		t.Error("a key beyond 64 KiB was kept on disk")
	}
	restarted := newExporter(t, servertest.New(t), exporter.WithSpool(dir))
	if restarted.KeyDisabled(huge) || !restarted.KeyDisabled(first[0]) {
		t.Error("a restarted process does not obey the keys kept, or only those")
	}
	_ = restarted.Shutdown(ctx)

	// Nor is a longer key read, should the file hold one.
	dir = t.TempDir()
	longKey := strings.Repeat("l", 70_000)
	plant(t, dir, "directives.json", fmt.Sprintf(`{"format":1,"instance":%q,"stopped":false,"disabled_keys":[%q,"short"]}`,
		exporter.InstanceHash(testID), longKey))
	planted := newExporter(t, servertest.New(t), exporter.WithSpool(dir))
	defer func() { _ = planted.Shutdown(ctx) }()
	if planted.KeyDisabled(longKey) || !planted.KeyDisabled("short") {
		t.Error("a key beyond 64 KiB was read from directives.json, or the short one was not")
	}
}

// The figures of an owner that is gone are deleted only once they are
// saved as the claiming exporter's own. When that save fails (here a
// directory stands where its carried file goes), the orphan's files stay,
// and stay locked while the claimer lives: no other exporter sends them
// meanwhile, and the claimer sends them once.
func TestOrphansStayWhenTheirFiguresCannotBeSaved(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	down := servertest.New(t)
	// The server cannot be reached: the figures are carried.
	gone := newExporter(t, down, fastRetry(1), exporter.WithSpool(dir), exporter.WithHTTPClient(refusingClient(t, 1)))
	_ = gone.Export(ctx, collection(sum("count", pt(7))))
	_ = gone.Shutdown(ctx)
	orphans := figureFiles(t, dir)
	if len(orphans) != 1 {
		t.Fatalf("spool holds %v", orphans)
	}

	up := servertest.New(t)
	var seen problems
	claimer := newExporter(t, up, exporter.WithSpool(dir), seen.option())
	defer func() { _ = claimer.Shutdown(ctx) }()
	blockCarriedFile(t, dir, strings.TrimSuffix(strings.TrimPrefix(orphans[0], "carried-"), ".json"))
	for range 2 {
		if err := claimer.Export(ctx, collection()); err != nil {
			t.Fatal(err)
		}
	}
	if seen.containing("stay in memory only") == 0 {
		t.Fatalf("the failed save was not reported: %v", seen.errs)
	}
	if _, err := os.Stat(filepath.Join(instanceDir(dir), orphans[0])); err != nil {
		t.Errorf("the orphan's file was deleted though its figures were not saved: %v", err)
	}
	other := servertest.New(t)
	second := newExporter(t, other, exporter.WithSpool(dir))
	defer func() { _ = second.Shutdown(ctx) }()
	if err := second.Export(ctx, collection()); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range append(up.Requests(), other.Requests()...) {
		total += r.Payload(t).Int("count")
	}
	if total != 7 {
		t.Errorf("%d counts sent while the claimer lives, want the orphan's 7 once", total)
	}
}

// blockCarriedFile puts a directory, not empty, where the live exporter
// (the owner that is not gone) keeps its carried figures, so that saving
// them fails.
func blockCarriedFile(t *testing.T, dir, gone string) {
	t.Helper()
	token := liveOwner(t, dir, func(token string) bool { return token == gone })
	blockFile(t, dir, "carried-"+token+".json")
}

// liveOwner returns the token of the first owner lock in dir's instance
// directory that skip does not rule out.
func liveOwner(t *testing.T, dir string, skip func(token string) bool) string {
	t.Helper()
	entries, err := os.ReadDir(instanceDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		token, ok := strings.CutPrefix(e.Name(), "owner-")
		token = strings.TrimSuffix(token, ".lock")
		if ok && !skip(token) {
			return token
		}
	}
	t.Fatal("the live exporter has no lock file")
	return ""
}

// blockFile puts a directory, not empty, where the file name of dir's
// instance directory would go, so that writing it fails.
func blockFile(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(instanceDir(dir), name, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
}
