package compat

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

// The tests in this file run programs that use the package as a server
// did, each in a process of its own, and stop them the way that server
// did on SIGINT: record "sigtrap", `go StopEmitting()`, exit soon after.

// Environment of a child process.
const (
	childRoleEnv  = "TELEMETRYBRIDGE_COMPAT_CHILD"
	childIDEnv    = "TELEMETRYBRIDGE_CHILD_ID"
	childCountEnv = "TELEMETRYBRIDGE_CHILD_COUNT"
	childTagEnv   = "TELEMETRYBRIDGE_CHILD_TAG"
	childWaitEnv  = "TELEMETRYBRIDGE_CHILD_WAIT"
)

// Child roles.
const (
	// exitWhileStopping records, then exits soon after `go StopEmitting()`
	// (exitDelay).
	exitWhileStopping = "exit-while-stopping"
	// deliverAndStop records nothing and stops cleanly: its updates carry
	// what earlier processes left.
	deliverAndStop = "deliver-and-stop"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	// No test writes into the user's cache directory.
	dir, err := os.MkdirTemp("", "compat-spool-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if os.Getenv(EnvSpoolDir) != "off" { // off: benchmarks without the journal, for comparison
		_ = os.Setenv(EnvSpoolDir, dir)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func runChild(role string) int {
	id, err := uuid.Parse(os.Getenv(childIDEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	Init(id, nil)
	StartEmitting()
	switch role {
	case exitWhileStopping:
		wait, _ := time.ParseDuration(os.Getenv(childWaitEnv))
		time.Sleep(wait)
		count, _ := strconv.Atoi(os.Getenv(childCountEnv))
		for range count {
			Increment("requests")
		}
		AppendUnique("process", os.Getenv(childTagEnv))
		AppendUnique("sigtrap", "SIGINT")
		go StopEmitting()
		time.Sleep(exitDelay())
	case deliverAndStop:
		StopEmitting()
	case crashExitAfterStop, crashPanic, crashRecordUntilKilled:
		return runCrashChild(role) // crash_test.go
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 2
	}
	return 0
}

// exitDelay is how long a stopping child lives on: 50 ms, as in the issue
// the server's shutdown took. Figures reach the disk in about 5 ms
// (BenchmarkStopToDisk); the race detector makes that ten times slower, and
// with CI's other packages running on both cores it once took more than
// 50 ms, so under it the child waits half a second.
func exitDelay() time.Duration {
	if raceEnabled {
		return 500 * time.Millisecond
	}
	return 50 * time.Millisecond
}

// child runs one process of the package's user.
type child struct {
	role, endpoint, spool string
	id                    uuid.UUID
	count                 int
	tag                   string
	wait                  time.Duration
}

func (c child) run(t *testing.T) {
	t.Helper()
	if out, err := c.command().CombinedOutput(); err != nil {
		t.Fatalf("%s process: %v\n%s", c.role, err, out)
	}
}

func (c child) command() *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childRoleEnv+"="+c.role, childIDEnv+"="+c.id.String(),
		childCountEnv+"="+strconv.Itoa(c.count), childTagEnv+"="+c.tag, childWaitEnv+"="+c.wait.String(),
		EnvEndpoint+"="+c.endpoint, EnvSpoolDir+"="+c.spool, EnvDoNotTrack+"=", EnvMode+"=on")
	return cmd
}

// updateServer is a telemetry server that keeps the updates it answers.
// A hanging one never answers, and counts nothing.
type updateServer struct {
	*httptest.Server
	mu      sync.Mutex
	updates []payload.Payload
}

func newUpdateServer(t *testing.T, hang bool) *updateServer {
	s := &updateServer{}
	hung := make(chan struct{})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang {
			select {
			case <-hung:
			case <-r.Context().Done():
			}
			return
		}
		p, err := payload.DecodePayload(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.updates = append(s.updates, p)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() { close(hung); s.Close() })
	return s
}

func (s *updateServer) endpoint() string { return s.URL + "/v1/update/" }

func (s *updateServer) received() []payload.Payload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]payload.Payload(nil), s.updates...)
}

// downEndpoint is an address where nothing listens.
func downEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr + "/v1/update/"
}

// totals adds up what updates carried: the requests counter, and the
// counts of each value of the counting sets.
type totals struct {
	requests int
	sets     map[string]map[string]int
}

func addUp(updates ...payload.Payload) totals {
	sum := totals{sets: map[string]map[string]int{}}
	for _, p := range updates {
		sum.requests += p.Int("requests")
		for _, key := range []string{"process", "sigtrap"} {
			list, _ := p.Data[key].([]any)
			for _, el := range list {
				m, _ := el.(map[string]any)
				v, _ := m["value"].(string)
				n, _ := m["count"].(float64)
				if sum.sets[key] == nil {
					sum.sets[key] = map[string]int{}
				}
				sum.sets[key][v] += int(n)
			}
		}
	}
	return sum
}

func (got totals) expect(t *testing.T, requests int, sets map[string]map[string]int) {
	t.Helper()
	if got.requests != requests {
		t.Errorf("requests: got %d, want %d", got.requests, requests)
	}
	for key, want := range sets {
		if fmt.Sprint(got.sets[key]) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", key, got.sets[key], want)
		}
	}
}

// A process that exits 50 ms after `go StopEmitting()`, while its server
// hangs, leaves its figures on disk; the next process sends exactly those,
// once. They may come in more than one update: the update the dying
// process had in flight goes again as it was, under its own key, before
// the figures recorded after it.
func TestFiguresSurviveAnExitWhileStopping(t *testing.T) {
	dir, id := t.TempDir(), uuid.New()
	hanging := newUpdateServer(t, true)
	child{role: exitWhileStopping, endpoint: hanging.endpoint(), spool: dir, id: id, count: 25, tag: "first"}.run(t)

	up := newUpdateServer(t, false)
	child{role: deliverAndStop, endpoint: up.endpoint(), spool: dir, id: id}.run(t)
	got := up.received()
	if len(got) == 0 {
		t.Fatal("the next process sent nothing")
	}
	want := map[string]map[string]int{"process": {"first": 1}, "sigtrap": {"SIGINT": 1}}
	addUp(got...).expect(t, 25, want)
}

// Three processes in turn record known counts and are interrupted at
// different points: while an update hangs, with the server down, and
// between updates. A fourth stops cleanly. The server receives every
// count once.
func TestExactTotalsAcrossRestarts(t *testing.T) {
	dir, id := t.TempDir(), uuid.New()
	hanging := newUpdateServer(t, true)
	up := newUpdateServer(t, false)
	child{role: exitWhileStopping, endpoint: hanging.endpoint(), spool: dir, id: id, count: 100, tag: "p1"}.run(t)
	child{role: exitWhileStopping, endpoint: downEndpoint(t), spool: dir, id: id, count: 200, tag: "p2"}.run(t)
	// The first update is delivered before p3 records.
	child{role: exitWhileStopping, endpoint: up.endpoint(), spool: dir, id: id, count: 300, tag: "p3", wait: 300 * time.Millisecond}.run(t)
	child{role: deliverAndStop, endpoint: up.endpoint(), spool: dir, id: id}.run(t)
	addUp(up.received()...).expect(t, 600, map[string]map[string]int{
		"process": {"p1": 1, "p2": 1, "p3": 1},
		"sigtrap": {"SIGINT": 3},
	})
}

// Two processes started together on one directory, where a third left
// figures: the figures arrive once.
func TestTwoProcessesStartedTogetherSendSpooledFiguresOnce(t *testing.T) {
	dir, id := t.TempDir(), uuid.New()
	hanging := newUpdateServer(t, true)
	child{role: exitWhileStopping, endpoint: hanging.endpoint(), spool: dir, id: id, count: 40, tag: "gone"}.run(t)

	up := newUpdateServer(t, false)
	var cmds []*exec.Cmd
	for range 2 {
		cmd := child{role: deliverAndStop, endpoint: up.endpoint(), spool: dir, id: id}.command()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	addUp(up.received()...).expect(t, 40, map[string]map[string]int{"process": {"gone": 1}, "sigtrap": {"SIGINT": 1}})
}
