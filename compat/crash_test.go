package compat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

// The tests in this file kill the package's user the ways real servers
// die, and then check what a telemetry server that counts every request
// (duplicates included) received once a clean process with the same spool
// directory and instance has stopped:
//
//   - os.Exit(0) right after `go StopEmitting()`, with no sleep (exitNow:
//     the exit a build without the race detector makes, in every build);
//   - SIGKILL at random moments while goroutines record every call kind;
//   - two instances sharing one TELEMETRY_SPOOL_DIR, both interrupted;
//   - a panic in another goroutine (exit code 2).
//
// A figure whose recording call has returned must reach the server exactly
// once. The server honours Idempotency-Key (a repeat is not kept twice).
// A hanging or refusing server fails before it takes the update; in the
// SIGKILL test's "answer lost" rounds the server takes the update and
// never answers (issue 19's window), so the child dies with that update
// pending and the next process sends it again under its key.

// Child roles of the crash tests (runCrashChild). Each prints "started"
// once Init and StartEmitting have returned, and records nothing before it
// reads "go" from its standard input.
const (
	// crashExitAfterStop records a script, prints "recorded <n>", then
	// `go StopEmitting()` and os.Exit(0) at once.
	crashExitAfterStop = "crash-exit-after-stop"
	// crashPanic records a script, prints "recorded <n>", then another
	// goroutine panics: the process ends with exit code 2.
	crashPanic = "crash-panic"
	// crashRecordUntilKilled runs crashGoroutines goroutines that record
	// every call kind (crashOp) until the process is killed; after each
	// call returns, its goroutine appends a line describing it to a log of
	// its own, with one write(2).
	crashRecordUntilKilled = "crash-record-until-killed"
)

// Environment of a crash child, besides spool_test.go's.
const (
	crashRoundEnv  = "TELEMETRYBRIDGE_CRASH_ROUND"
	crashLogDirEnv = "TELEMETRYBRIDGE_CRASH_LOGS"
	// crashSeedEnv, read by the parent, replays the kill times of a run of
	// TestSIGKILLAtRandomMoments (its seed is logged).
	crashSeedEnv = "TELEMETRYBRIDGE_CRASH_SEED"
)

const crashGoroutines = 4

// Kinds of recording call.
const (
	kindIncrement = "increment"
	kindAdd       = "add"
	kindUnique    = "append-unique"
	kindAppend    = "append"
	kindSet       = "set"
	kindNested    = "set-nested"
)

// crashCall is one documented recording call.
type crashCall struct {
	kind, key, sub string
	amount         int // Add
	value          any // AppendUnique, Append, Set, SetNested
}

func (c crashCall) apply() {
	switch c.kind {
	case kindIncrement:
		Increment(c.key)
	case kindAdd:
		Add(c.key, c.amount)
	case kindUnique:
		AppendUnique(c.key, c.value)
	case kindAppend:
		Append(c.key, c.value)
	case kindSet:
		Set(c.key, c.value)
	case kindNested:
		SetNested(c.key, c.sub, c.value)
	default:
		panic("unknown call kind " + c.kind)
	}
}

// String is the call as a log line describes it.
func (c crashCall) String() string {
	switch c.kind {
	case kindIncrement:
		return c.kind + " " + c.key
	case kindAdd:
		return c.kind + " " + c.key + " " + strconv.Itoa(c.amount)
	case kindNested:
		return c.kind + " " + c.key + " " + c.sub + " " + jsonText(c.value)
	}
	return c.kind + " " + c.key + " " + jsonText(c.value)
}

// jsonText is v as JSON: how recorded values and received values compare
// (json.Marshal sorts object members, and 7 and 7.0 are both "7").
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("unencodable %#v", v)
	}
	return string(b)
}

// crashScript is what the children of the exit, panic and shared-directory
// tests record: every call kind, n increments, with values of their own
// (tag) so that two instances' figures cannot pass for each other.
func crashScript(tag string, n int) []crashCall {
	var calls []crashCall
	amounts := []int{5, -3, 1 << 40, 17, -(1 << 40), -1, 250, 0, -99}
	for i := range n {
		calls = append(calls, crashCall{kind: kindIncrement, key: "hits"})
		if i < len(amounts) {
			calls = append(calls, crashCall{kind: kindAdd, key: "bytes", amount: amounts[i] * (1 + len(tag)%3)})
		}
		if i%3 == 0 {
			calls = append(calls, crashCall{kind: kindUnique, key: "clients", value: fmt.Sprintf("%s-u%d", tag, i)})
		}
		if i%5 == 0 {
			calls = append(calls, crashCall{kind: kindUnique, key: "agents", value: []string{tag + "-a", tag + "-b"}[i%2]})
			calls = append(calls, crashCall{kind: kindAppend, key: "events", value: fmt.Sprintf("%s-e%d", tag, i)})
		}
		if i%10 == 0 {
			calls = append(calls, crashCall{kind: kindSet, key: "state", value: fmt.Sprintf("%s-s%d", tag, i)})
			calls = append(calls, crashCall{kind: kindNested, key: "config", sub: "mode", value: fmt.Sprintf("%s-m%d", tag, i)})
		}
	}
	return append(calls,
		crashCall{kind: kindAppend, key: "events", value: map[string]any{"tag": tag, "n": n}},
		crashCall{kind: kindSet, key: "level", value: n},
		crashCall{kind: kindNested, key: "config", sub: "workers", value: n / 2},
		crashCall{kind: kindAdd, key: "bytes", amount: -n},
	)
}

// crashOp is call n of goroutine g in round r of the SIGKILL test: a cycle
// of every call kind. Values of AppendUnique("crash_unique") and
// Append("crash_list") are unique per call, and made only in the first 300
// cycles and then every 16th (up to cycle 4000), so that what eight rounds
// leave stays far below the 100,000 items an update holds.
func crashOp(r, g, n int) crashCall {
	c, slot := n/7, n%7
	if !(c < 300 || c%16 == 0 && c < 4000) {
		slot = []int{0, 1, 2, 0, 2, 5, 6}[slot]
	}
	id := fmt.Sprintf("r%dg%dc%d", r, g, c)
	switch slot {
	case 0:
		return crashCall{kind: kindIncrement, key: "crash_hits"}
	case 1:
		amount := c%23 - 11 // -11 .. 11, never 0
		if amount >= 0 {
			amount++
		}
		if c%50 == 49 {
			amount = 1 << 33
			if c/50%2 == 1 {
				amount = -amount
			}
		}
		return crashCall{kind: kindAdd, key: fmt.Sprintf("crash_add_g%d", g), amount: amount}
	case 2:
		return crashCall{kind: kindUnique, key: "crash_ua", value: fmt.Sprintf("ua%d", (c+g)%5)}
	case 3:
		return crashCall{kind: kindUnique, key: "crash_unique", value: id}
	case 4:
		return crashCall{kind: kindAppend, key: "crash_list", value: id}
	case 5:
		return crashCall{kind: kindSet, key: "crash_state", value: id}
	default:
		return crashCall{kind: kindNested, key: "crash_nested", sub: fmt.Sprintf("g%d", g), value: id}
	}
}

func crashLogPath(dir string, round, g int) string {
	return filepath.Join(dir, fmt.Sprintf("r%d-g%d.log", round, g))
}

// runCrashChild is the part of a crash child after Init and StartEmitting.
func runCrashChild(role string) int {
	fmt.Println("started")
	in := bufio.NewReader(os.Stdin)
	if line, err := in.ReadString('\n'); line != "go\n" {
		fmt.Fprintf(os.Stderr, "crash child: no go from the parent: %q %v\n", line, err)
		return 2
	}
	switch role {
	case crashExitAfterStop, crashPanic:
		count, _ := strconv.Atoi(os.Getenv(childCountEnv))
		calls := crashScript(os.Getenv(childTagEnv), count)
		for _, c := range calls {
			c.apply()
		}
		fmt.Printf("recorded %d\n", len(calls))
		if role == crashExitAfterStop {
			go StopEmitting()
			exitNow(0)
		}
		go func() { panic("crash test: a panic in another goroutine") }()
		time.Sleep(time.Minute)
		return 3
	case crashRecordUntilKilled:
		round, _ := strconv.Atoi(os.Getenv(crashRoundEnv))
		dir := os.Getenv(crashLogDirEnv)
		for g := range crashGoroutines {
			f, err := os.OpenFile(crashLogPath(dir, round, g), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
			go recordAndLog(f, round, g)
		}
		// Until killed; a parent that went away closes standard input.
		_, _ = io.Copy(io.Discard, in)
		return 3
	}
	fmt.Fprintln(os.Stderr, "unknown crash role", role)
	return 2
}

// exitNow is os.Exit(code) as a program built without the race detector
// runs it: the process ends at once. Under the race detector os.Exit(0)
// first runs the detector's finaliser, which lets other goroutines (the
// stop) run on for a while: against the code before issue 18, children
// exiting through os.Exit under -race delivered their final update, and
// the test passed.
func exitNow(code int) {
	syscall.Exit(code)
}

// recordAndLog makes goroutine g's calls in order; once a call has
// returned, it appends "<n> <call>\n" to f in one write(2), so that a
// line is whole or absent.
func recordAndLog(f *os.File, round, g int) {
	var line []byte
	for n := 0; ; n++ {
		c := crashOp(round, g, n)
		c.apply()
		line = strconv.AppendInt(line[:0], int64(n), 10)
		line = append(line, ' ')
		line = append(line, c.String()...)
		line = append(line, '\n')
		if _, err := f.Write(line); err != nil {
			fmt.Fprintln(os.Stderr, "crash child: log:", err)
			os.Exit(4)
		}
	}
}

// crashProc is a running child process; t's cleanup kills it if it runs.
type crashProc struct {
	name   string
	cmd    *exec.Cmd
	stdin  *os.File
	lines  chan string
	stderr bytes.Buffer // read only once done is closed
	done   chan struct{}
	err    error
}

// startCrashChild starts the test binary as a child in role, for instance
// id with the spool directory dir, reporting to endpoint. ctx bounds it.
func startCrashChild(ctx context.Context, t *testing.T, name, role string, id uuid.UUID, endpoint, dir string, env ...string) *crashProc {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childRoleEnv+"="+role, childIDEnv+"="+id.String(),
		EnvEndpoint+"="+endpoint, EnvSpoolDir+"="+dir,
		EnvDoNotTrack+"=", EnvOTelSDKDisabled+"=", EnvMode+"=on", EnvDisabledMetrics+"=", EnvMetricTypes+"=")
	cmd.Env = append(cmd.Env, env...)
	cmd.WaitDelay = 5 * time.Second
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	p := &crashProc{name: name, cmd: cmd, stdin: inW, lines: make(chan string, 16), done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	err = cmd.Start()
	_ = inR.Close()
	_ = outW.Close()
	if err != nil {
		_ = inW.Close()
		_ = outR.Close()
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		defer close(p.lines)
		defer outR.Close()
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		_ = inW.Close()
	})
	return p
}

// crashWait bounds one wait of the parent.
func crashWait() time.Duration {
	if raceEnabled {
		return 40 * time.Second
	}
	return 20 * time.Second
}

// fail kills p if it runs and ends the test with what p wrote.
func (p *crashProc) fail(t *testing.T, format string, args ...any) {
	t.Helper()
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	t.Fatalf("%s: %s (exit: %v)\nstderr:\n%s", p.name, fmt.Sprintf(format, args...), p.err, p.stderr.String())
}

// expect waits for the line want on p's standard output.
func (p *crashProc) expect(ctx context.Context, t *testing.T, want string) {
	t.Helper()
	timer := time.NewTimer(crashWait())
	defer timer.Stop()
	var other []string
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				p.fail(t, "ended before printing %q (printed %q)", want, other)
			}
			if line == want {
				return
			}
			other = append(other, line)
		case <-timer.C:
			p.fail(t, "did not print %q within %v (printed %q)", want, crashWait(), other)
		case <-ctx.Done():
			p.fail(t, "did not print %q before the test's deadline (printed %q)", want, other)
		}
	}
}

func (p *crashProc) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.fail(t, "write %q: %v", line, err)
	}
}

// exit waits for p to end by itself with code.
func (p *crashProc) exit(ctx context.Context, t *testing.T, code int) {
	t.Helper()
	timer := time.NewTimer(crashWait())
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.fail(t, "still running after %v", crashWait())
	case <-ctx.Done():
		p.fail(t, "still running at the test's deadline")
	}
	if got := p.cmd.ProcessState.ExitCode(); got != code {
		p.fail(t, "exit code %d, want %d", got, code)
	}
}

// kill sends SIGKILL and checks that p was still running to receive it.
func (p *crashProc) kill(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		p.fail(t, "ended by itself before the kill")
	default:
	}
	if err := p.cmd.Process.Kill(); err != nil {
		p.fail(t, "kill: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(crashWait()):
		t.Fatalf("%s: still running %v after SIGKILL", p.name, crashWait())
	}
	// Windows has no signals: a killed process ends with exit code 1.
	if code := p.cmd.ProcessState.ExitCode(); code != -1 && runtime.GOOS != "windows" {
		t.Fatalf("%s: ended with exit code %d, not by the kill\nstderr:\n%s", p.name, code, p.stderr.String())
	}
}

// runClean runs a process that records nothing and stops cleanly: its
// updates carry what earlier processes left.
func runClean(ctx context.Context, t *testing.T, name string, id uuid.UUID, endpoint, dir string) {
	t.Helper()
	startCrashChild(ctx, t, name, deliverAndStop, id, endpoint, dir).exit(ctx, t, 0)
}

// Modes of the crash server.
const (
	serveAnswer int32 = iota // take the update and answer next_update=1h
	serveHang                // never answer, take nothing
	serveRefuse              // 503 with Retry-After: 3600, take nothing
	// serveTakeAndHang takes the update and then never answers: the
	// client cannot tell whether it was taken (issue 19's window).
	serveTakeAndHang
)

// crashServer is a loopback telemetry server that keeps every update it
// took, per instance (the last element of the path), in arrival order. It
// honours Idempotency-Key: an update whose key it took before is not kept
// again (a process may die after the answer was written and before it was
// read, so a repeat is no fault in itself).
type crashServer struct {
	*httptest.Server
	mode    atomic.Int32
	release chan struct{}

	mu       sync.Mutex
	got      map[string][]payload.Payload
	hung     map[string]int
	refused  map[string]int
	lost     map[string]int  // requests taken (or repeated) whose answer was withheld
	keys     map[string]bool // keys taken
	repeats  int             // requests with a key taken before
	problems []string
	changed  chan struct{} // closed and replaced when a request is taken, hung or refused
}

func (s *crashServer) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func newCrashServer(t *testing.T) *crashServer {
	t.Helper()
	s := &crashServer{
		release: make(chan struct{}),
		got:     map[string][]payload.Payload{},
		hung:    map[string]int{},
		refused: map[string]int{},
		lost:    map[string]int{},
		keys:    map[string]bool{},
		changed: make(chan struct{}),
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	_ = s.Server.Listener.Close()
	s.Server.Listener = l
	s.Start()
	t.Cleanup(func() { close(s.release); s.Close() })
	return s
}

func (s *crashServer) endpoint() string { return s.URL + "/v1/update/" }

func (s *crashServer) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/v1/update/")
	if !ok || r.Method != http.MethodPost {
		s.problem("unexpected request %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	switch s.mode.Load() {
	case serveHang:
		s.mu.Lock()
		s.hung[id]++
		s.changedLocked()
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		panic(http.ErrAbortHandler) // no answer at all, not an empty 200
	case serveRefuse:
		s.mu.Lock()
		s.refused[id]++
		s.changedLocked()
		s.mu.Unlock()
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "refused for the test", http.StatusServiceUnavailable)
		return
	}
	p, err := payload.DecodePayload(r.Body)
	if err != nil {
		s.problem("undecodable update for %s: %v", id, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if p.InstanceID != id {
		s.problem("update posted for %s carries instance_id %q", id, p.InstanceID)
	}
	key := r.Header.Get(payload.HeaderIdempotencyKey)
	hang := s.mode.Load() == serveTakeAndHang
	s.mu.Lock()
	if key == "" {
		s.problems = append(s.problems, "an update without "+payload.HeaderIdempotencyKey)
	}
	if s.keys[key] {
		s.repeats++
	} else {
		s.keys[key] = true
		s.got[id] = append(s.got[id], p)
	}
	if hang {
		s.lost[id]++
	}
	s.changedLocked()
	s.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		panic(http.ErrAbortHandler)
	}
	_ = payload.WriteResponse(w, http.StatusOK, payload.Response{NextUpdate: time.Hour})
}

func (s *crashServer) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

func (s *crashServer) updates(id uuid.UUID) []payload.Payload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got[id.String()])
}

func (s *crashServer) counts(id uuid.UUID) (taken, hung, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got[id.String()]), s.hung[id.String()], s.refused[id.String()]
}

// waitTaken waits until the server has taken n updates of id.
func (s *crashServer) waitTaken(ctx context.Context, t *testing.T, id uuid.UUID, n int) {
	t.Helper()
	s.waitFor(ctx, t, fmt.Sprintf("%d updates taken", n), func() bool { return len(s.got[id.String()]) >= n })
}

// waitFor waits until cond, called with s.mu held, holds.
func (s *crashServer) waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(crashWait())
	defer timer.Stop()
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("the server did not see %s within %v", what, crashWait())
		case <-ctx.Done():
			t.Fatalf("the server did not see %s by the test's deadline", what)
		}
	}
}

func (s *crashServer) checkProblems(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.problems {
		t.Error("server:", p)
	}
}

// crashFigures is what calls recorded, or what updates carried, by kind:
// counter sums, counting-set counts and list elements by value (as JSON),
// and the last value of each key and sub-key.
type crashFigures struct {
	counters map[string]int
	sets     map[string]map[string]int
	lists    map[string][]string
	values   map[string]string
	nested   map[string]map[string]string
	adds     map[string]bool // counters recorded with Add, not Increment
	problems []string        // received keys of an unexpected shape
}

func newCrashFigures() *crashFigures {
	return &crashFigures{
		counters: map[string]int{},
		sets:     map[string]map[string]int{},
		lists:    map[string][]string{},
		values:   map[string]string{},
		nested:   map[string]map[string]string{},
		adds:     map[string]bool{},
	}
}

func (f *crashFigures) record(c crashCall) {
	switch c.kind {
	case kindIncrement:
		f.counters[c.key]++
	case kindAdd:
		f.counters[c.key] += c.amount
		f.adds[c.key] = true
	case kindUnique:
		if f.sets[c.key] == nil {
			f.sets[c.key] = map[string]int{}
		}
		f.sets[c.key][jsonText(c.value)]++
	case kindAppend:
		f.lists[c.key] = append(f.lists[c.key], jsonText(c.value))
	case kindSet:
		f.values[c.key] = jsonText(c.value)
	case kindNested:
		if f.nested[c.key] == nil {
			f.nested[c.key] = map[string]string{}
		}
		f.nested[c.key][c.sub] = jsonText(c.value)
	}
}

func recorded(calls []crashCall) *crashFigures {
	f := newCrashFigures()
	for _, c := range calls {
		f.record(c)
	}
	return f
}

// received adds up updates: every counter of every update, every counted
// value and list element of every update, and the value each key and
// sub-key had in the last update that carried it. kinds names the call
// kind of each key to read; other keys are skipped, but a
// telemetry.dropped_items is a problem.
func received(updates []payload.Payload, kinds map[string]string) *crashFigures {
	f := newCrashFigures()
	for i, p := range updates {
		if n := p.Int("telemetry.dropped_items"); n != 0 {
			f.problems = append(f.problems, fmt.Sprintf("update %d dropped %d items", i, n))
		}
		for key, v := range p.Data {
			kind, ok := kinds[key]
			if !ok {
				continue
			}
			bad := func() {
				f.problems = append(f.problems, fmt.Sprintf("update %d: key %q (%s) holds %s", i, key, kind, jsonText(v)))
			}
			switch kind {
			case kindIncrement, kindAdd:
				n, ok := wholeNumber(v)
				if !ok {
					bad()
					continue
				}
				f.counters[key] += n
			case kindUnique:
				list, ok := v.([]any)
				if !ok {
					bad()
					continue
				}
				if f.sets[key] == nil {
					f.sets[key] = map[string]int{}
				}
				for _, el := range list {
					m, _ := el.(map[string]any)
					n, ok := wholeNumber(m["count"])
					if _, has := m["value"]; !has || !ok || len(m) != 2 {
						bad()
						break
					}
					f.sets[key][jsonText(m["value"])] += n
				}
			case kindAppend:
				list, ok := v.([]any)
				if !ok {
					bad()
					continue
				}
				for _, el := range list {
					f.lists[key] = append(f.lists[key], jsonText(el))
				}
			case kindSet:
				f.values[key] = jsonText(v)
			case kindNested:
				m, ok := v.(map[string]any)
				if !ok {
					bad()
					continue
				}
				if f.nested[key] == nil {
					f.nested[key] = map[string]string{}
				}
				for sub, x := range m {
					f.nested[key][sub] = jsonText(x)
				}
			}
		}
	}
	return f
}

func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		if n != float64(int64(n)) {
			return 0, false
		}
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

func kindsOf(calls []crashCall) map[string]string {
	kinds := map[string]string{}
	for _, c := range calls {
		kinds[c.key] = c.kind
	}
	return kinds
}

// crashTally counts figures lost and sent twice: increments, counts of
// counted values, list elements; and the Add totals and last values that
// are wrong.
type crashTally struct {
	lost, duplicated, phantom int // increments, counts of values, list elements
	wrongSums                 int // Add keys whose total is not what was recorded
	wrongValues               int // Set and SetNested values, list orders
}

func (c crashTally) String() string {
	return fmt.Sprintf("%d figures lost, %d sent more than once, %d never recorded; %d Add totals and %d last values wrong",
		c.lost, c.duplicated, c.phantom, c.wrongSums, c.wrongValues)
}

// compareExact checks that got holds want, each figure once, and returns
// what was lost and duplicated.
func compareExact(t *testing.T, who string, got, want *crashFigures) crashTally {
	t.Helper()
	var tally crashTally
	for _, p := range got.problems {
		t.Errorf("%s: %s", who, p)
	}
	for _, key := range unionKeys(got.counters, want.counters) {
		g, w := got.counters[key], want.counters[key]
		switch {
		case g != w && want.adds[key]:
			t.Errorf("%s: Add %q: got %d, want %d", who, key, g, w)
			tally.wrongSums++
		case g < w:
			t.Errorf("%s: Increment %q: got %d, want %d (%d lost)", who, key, g, w, w-g)
			tally.lost += w - g
		case g > w:
			t.Errorf("%s: Increment %q: got %d, want %d (%d more than recorded)", who, key, g, w, g-w)
			tally.duplicated += g - w
		}
	}
	// Counted values and list elements: one line per key and what went
	// wrong, with a few examples.
	multiset := func(what, key string, gotN, wantN map[string]int) {
		var lost, dup, phantom []string
		for _, v := range unionKeys(gotN, wantN) {
			g, w := gotN[v], wantN[v]
			switch {
			case w == 0:
				phantom = append(phantom, fmt.Sprintf("%s×%d", v, g))
				tally.phantom += g
			case g < w:
				lost = append(lost, fmt.Sprintf("%s (%d of %d)", v, w-g, w))
				tally.lost += w - g
			case g > w:
				dup = append(dup, fmt.Sprintf("%s (%d, want %d)", v, g, w))
				tally.duplicated += g - w
			}
		}
		if len(lost) > 0 {
			t.Errorf("%s: %s %q: %d of %d values lost: %s", who, what, key, len(lost), len(wantN), someOf(lost))
		}
		if len(dup) > 0 {
			t.Errorf("%s: %s %q: %d values arrived more often than recorded: %s", who, what, key, len(dup), someOf(dup))
		}
		if len(phantom) > 0 {
			t.Errorf("%s: %s %q: %d values arrived that were never recorded: %s", who, what, key, len(phantom), someOf(phantom))
		}
	}
	for _, key := range unionKeys(got.sets, want.sets) {
		multiset("AppendUnique", key, got.sets[key], want.sets[key])
	}
	for _, key := range unionKeys(got.lists, want.lists) {
		gotN, wantN := countStrings(got.lists[key]), countStrings(want.lists[key])
		multiset("Append", key, gotN, wantN)
		if fmt.Sprint(gotN) == fmt.Sprint(wantN) && !slices.Equal(got.lists[key], want.lists[key]) {
			t.Errorf("%s: Append %q: elements out of order: got %v, want %v", who, key, got.lists[key], want.lists[key])
			tally.wrongValues++
		}
	}
	for _, key := range unionKeys(got.values, want.values) {
		if g, w := got.values[key], want.values[key]; g != w {
			t.Errorf("%s: Set %q: last value received %s, want %s", who, key, orNone(g), orNone(w))
			tally.wrongValues++
		}
	}
	for _, key := range unionKeys(got.nested, want.nested) {
		for _, sub := range unionKeys(got.nested[key], want.nested[key]) {
			if g, w := got.nested[key][sub], want.nested[key][sub]; g != w {
				t.Errorf("%s: SetNested %q %q: last value received %s, want %s", who, key, sub, orNone(g), orNone(w))
				tally.wrongValues++
			}
		}
	}
	if tally != (crashTally{}) {
		t.Errorf("%s: %v", who, tally)
	}
	return tally
}

// someOf shows the first few of list.
func someOf(list []string) string {
	if len(list) > 6 {
		return strings.Join(list[:6], ", ") + fmt.Sprintf(", ... (%d in all)", len(list))
	}
	return strings.Join(list, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func countStrings(list []string) map[string]int {
	n := map[string]int{}
	for _, s := range list {
		n[s]++
	}
	return n
}

func unionKeys[V any](a, b map[string]V) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// logSpoolDir lists dir, to show on failure what the processes left.
func logSpoolDir(t *testing.T, dir string) {
	t.Helper()
	if !t.Failed() {
		return
	}
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(&b, "  %s %s %d\n", info.Mode(), rel, info.Size())
		return nil
	})
	t.Logf("spool directory after the test:\n%s", b.String())
}

// crashDeadline bounds a whole test, children and waits included.
func crashDeadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 55*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// answeredMargin is how long a child that has had an update answered goes
// on before it records (and, in the SIGKILL test, before its kill timer
// starts): the process has read the answer by then, and the test stays out
// of issue 19's window (an update taken whose answer was never read).
func answeredMargin() time.Duration {
	if raceEnabled {
		return 250 * time.Millisecond
	}
	return 100 * time.Millisecond
}

// interrupted runs a child that has its first update answered, records
// crashScript(tag, n) and then dies as role makes it die.
func interrupted(ctx context.Context, t *testing.T, s *crashServer, role string, id uuid.UUID, dir, tag string, n int) *crashProc {
	t.Helper()
	p := startCrashChild(ctx, t, tag, role, id, s.endpoint(), dir,
		childTagEnv+"="+tag, childCountEnv+"="+strconv.Itoa(n))
	p.expect(ctx, t, "started")
	taken, _, _ := s.counts(id)
	s.waitTaken(ctx, t, id, taken+1) // the first update, before anything is recorded
	time.Sleep(answeredMargin())
	p.send(t, "go")
	p.expect(ctx, t, fmt.Sprintf("recorded %d", len(crashScript(tag, n))))
	return p
}

// A program records every call kind, then does what the well-known
// server's SIGINT path does: `go StopEmitting()` and os.Exit(0) at once.
// Its first update was answered before it recorded, and the schedule is an
// hour, so the figures exist only in the process when it exits. Two clean
// processes with the same directory and instance follow: the server
// receives every figure once.
func TestExitRightAfterGoStopEmitting(t *testing.T) {
	ctx := crashDeadline(t)
	dir, id := t.TempDir(), uuid.MustParse("6f1c2a8e-3b7d-4e59-9a0c-1d2e3f405162")
	s := newCrashServer(t)
	defer logSpoolDir(t, dir)

	interrupted(ctx, t, s, crashExitAfterStop, id, dir, "exit", 60).exit(ctx, t, 0)
	runClean(ctx, t, "first clean process", id, s.endpoint(), dir)
	runClean(ctx, t, "second clean process", id, s.endpoint(), dir)

	calls := crashScript("exit", 60)
	compareExact(t, "after os.Exit right after go StopEmitting", received(s.updates(id), kindsOf(calls)), recorded(calls))
	s.checkProblems(t)
}

// As TestExitRightAfterGoStopEmitting, with an update pending when the
// process exits: a first process records and exits, leaving its figures
// spooled; the second's first update carries them, and the server takes
// it and never answers. The second records and exits with that update
// pending (`go StopEmitting()` may be sending it again). The clean
// processes send it once more, under its key, and the second's figures
// once: a server that honours the key counts every figure once.
func TestExitRightAfterGoStopEmittingWithAnUpdatePending(t *testing.T) {
	ctx := crashDeadline(t)
	dir, id := t.TempDir(), uuid.MustParse("7a2d3b9f-4c8e-4f6a-8b1d-2e3f40516273")
	s := newCrashServer(t)
	defer logSpoolDir(t, dir)

	interrupted(ctx, t, s, crashExitAfterStop, id, dir, "first", 40).exit(ctx, t, 0)
	s.mode.Store(serveTakeAndHang)
	p := startCrashChild(ctx, t, "second", crashExitAfterStop, id, s.endpoint(), dir,
		childTagEnv+"=second", childCountEnv+"=40")
	p.expect(ctx, t, "started")
	s.waitFor(ctx, t, "the first update (to take it and lose the answer)", func() bool { return s.lost[id.String()] > 0 })
	p.send(t, "go")
	p.expect(ctx, t, fmt.Sprintf("recorded %d", len(crashScript("second", 40))))
	p.exit(ctx, t, 0)
	s.mode.Store(serveAnswer)
	runClean(ctx, t, "first clean process", id, s.endpoint(), dir)
	runClean(ctx, t, "second clean process", id, s.endpoint(), dir)

	calls := append(crashScript("first", 40), crashScript("second", 40)...)
	compareExact(t, "after os.Exit right after go StopEmitting with an update pending", received(s.updates(id), kindsOf(calls)), recorded(calls))
	s.mu.Lock()
	repeats := s.repeats
	s.mu.Unlock()
	if repeats == 0 {
		t.Error("the update whose answer was lost was not sent again")
	}
	s.checkProblems(t)
}

// A program records, then another goroutine panics: the process ends with
// exit code 2 and stops nothing. The next processes send every figure once.
func TestPanicInAnotherGoroutine(t *testing.T) {
	ctx := crashDeadline(t)
	dir, id := t.TempDir(), uuid.MustParse("0b7e4c1d-95a2-4f36-8e1b-2c3d4e5f6071")
	s := newCrashServer(t)
	defer logSpoolDir(t, dir)

	p := interrupted(ctx, t, s, crashPanic, id, dir, "panic", 40)
	p.exit(ctx, t, 2)
	if !strings.Contains(p.stderr.String(), "panic: crash test: a panic in another goroutine") {
		t.Fatalf("the child did not die of the panic:\n%s", p.stderr.String())
	}
	runClean(ctx, t, "first clean process", id, s.endpoint(), dir)
	runClean(ctx, t, "second clean process", id, s.endpoint(), dir)

	calls := crashScript("panic", 40)
	compareExact(t, "after a panic in another goroutine", received(s.updates(id), kindsOf(calls)), recorded(calls))
	s.checkProblems(t)
}

// Two instances (two UUIDs, the same program, the same keys) run at once
// with one TELEMETRY_SPOOL_DIR; both are interrupted (os.Exit right after
// `go StopEmitting()`), then both are restarted at once, then once more
// each. Each instance's updates carry exactly its own figures, none of the
// other's.
func TestTwoInstancesShareOneSpoolDir(t *testing.T) {
	ctx := crashDeadline(t)
	dir := t.TempDir()
	ids := []uuid.UUID{
		uuid.MustParse("a1a1a1a1-0000-4000-8000-000000000001"),
		uuid.MustParse("b2b2b2b2-0000-4000-8000-000000000002"),
	}
	tags, counts := []string{"alpha", "bravo"}, []int{30, 70}
	s := newCrashServer(t)
	defer logSpoolDir(t, dir)

	var procs []*crashProc
	for i, id := range ids {
		procs = append(procs, startCrashChild(ctx, t, tags[i], crashExitAfterStop, id, s.endpoint(), dir,
			childTagEnv+"="+tags[i], childCountEnv+"="+strconv.Itoa(counts[i])))
	}
	for i, p := range procs {
		p.expect(ctx, t, "started")
		s.waitTaken(ctx, t, ids[i], 1)
	}
	time.Sleep(answeredMargin())
	for _, p := range procs {
		p.send(t, "go")
	}
	for i, p := range procs {
		p.expect(ctx, t, fmt.Sprintf("recorded %d", len(crashScript(tags[i], counts[i]))))
	}
	for _, p := range procs {
		p.exit(ctx, t, 0)
	}

	var clean []*crashProc
	for i, id := range ids {
		clean = append(clean, startCrashChild(ctx, t, tags[i]+" restarted", deliverAndStop, id, s.endpoint(), dir))
	}
	for _, p := range clean {
		p.exit(ctx, t, 0)
	}
	for i, id := range ids {
		runClean(ctx, t, tags[i]+" restarted again", id, s.endpoint(), dir)
	}

	for i, id := range ids {
		calls := crashScript(tags[i], counts[i])
		compareExact(t, "instance "+tags[i], received(s.updates(id), kindsOf(calls)), recorded(calls))
	}
	s.checkProblems(t)
}

// crashRound is one child of the SIGKILL test and what its logs say.
type crashRound struct {
	mode      string
	killAfter time.Duration
	logged    [crashGoroutines]int        // whole lines: calls that returned
	torn      [crashGoroutines]bool       // a partial last line (should not happen)
	inFlight  [crashGoroutines]*crashCall // the call after the last logged one, if the goroutine ran
}

// readCrashLog reads goroutine g's log of round r: the calls that returned,
// in order, each checked against crashOp.
func readCrashLog(t *testing.T, dir string, r, g int) (logged int, torn, ran bool) {
	t.Helper()
	b, err := os.ReadFile(crashLogPath(dir, r, g))
	if os.IsNotExist(err) {
		return 0, false, false
	}
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	last := lines[len(lines)-1]
	lines = lines[:len(lines)-1] // the text after the last newline is no line
	for n, line := range lines {
		if want := fmt.Sprintf("%d %s", n, crashOp(r, g, n)); line != want {
			t.Fatalf("round %d goroutine %d: log line %d is %q, want %q", r, g, n, line, want)
		}
	}
	return len(lines), last != "", true
}

// Eight children in turn record every call kind from four goroutines each
// and are killed with SIGKILL at a random moment, 20 to 300 ms after they
// begin to record: while their server hangs on their first update, refuses
// it (503), is down, or has answered it. Two clean processes follow. A
// call that returned (its log line is whole) must arrive exactly once; the
// one call per goroutine that may have been cut short (the call after its
// last logged one) may arrive at most once; nothing else may arrive.
func TestSIGKILLAtRandomMoments(t *testing.T) {
	ctx := crashDeadline(t)
	dir, logs := t.TempDir(), t.TempDir()
	id := uuid.MustParse("5e1f0c2b-7a64-4d3e-9b8a-c0d1e2f30415")
	s := newCrashServer(t)
	defer logSpoolDir(t, dir)

	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(crashSeedEnv); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("%s: %v", crashSeedEnv, err)
		}
	}
	t.Logf("kill times from seed %d (%s=%d replays them)", seed, crashSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	modes := []string{"hang", "answered", "down", "refuse", "answer lost", "answered", "answer lost", "answer lost", "hang", "answered", "down"}
	rounds := make([]crashRound, len(modes))
	for r, mode := range modes {
		endpoint := s.endpoint()
		switch mode {
		case "hang":
			s.mode.Store(serveHang)
		case "refuse":
			s.mode.Store(serveRefuse)
		case "answered":
			s.mode.Store(serveAnswer)
		case "answer lost":
			s.mode.Store(serveTakeAndHang)
		case "down":
			endpoint = downEndpoint(t)
		}
		taken, hung, refused := s.counts(id)
		s.mu.Lock()
		lost := s.lost[id.String()]
		s.mu.Unlock()
		p := startCrashChild(ctx, t, fmt.Sprintf("round %d (%s)", r, mode), crashRecordUntilKilled, id, endpoint, dir,
			crashRoundEnv+"="+strconv.Itoa(r), crashLogDirEnv+"="+logs)
		p.expect(ctx, t, "started")
		// The first update is under way as the child records: hanging,
		// refused, answered a while ago, or taken with its answer lost.
		switch mode {
		case "answered":
			s.waitTaken(ctx, t, id, taken+1)
			time.Sleep(answeredMargin())
		case "hang":
			s.waitFor(ctx, t, "the first update (to hang on it)", func() bool { return s.hung[id.String()] > hung })
		case "refuse":
			s.waitFor(ctx, t, "the first update (to refuse it)", func() bool { return s.refused[id.String()] > refused })
		case "answer lost":
			// Taken (or, for an update the last round left pending, taken
			// again and not kept twice), and never answered: the child
			// keeps it pending, with its key, while it records.
			s.waitFor(ctx, t, "the first update (to take it and lose the answer)", func() bool { return s.lost[id.String()] > lost })
		}
		rounds[r].mode = mode
		rounds[r].killAfter = 20*time.Millisecond + time.Duration(rng.Int64N(int64(280*time.Millisecond)))
		p.send(t, "go")
		time.Sleep(rounds[r].killAfter)
		p.kill(t)
		for g := range crashGoroutines {
			n, torn, ran := readCrashLog(t, logs, r, g)
			rounds[r].logged[g], rounds[r].torn[g] = n, torn
			if ran {
				c := crashOp(r, g, n)
				rounds[r].inFlight[g] = &c
			}
		}
	}
	s.mode.Store(serveAnswer)
	runClean(ctx, t, "first clean process", id, s.endpoint(), dir)
	runClean(ctx, t, "second clean process", id, s.endpoint(), dir)

	defer func() {
		if !t.Failed() {
			return
		}
		for r, rd := range rounds {
			var flight []string
			for _, c := range rd.inFlight {
				if c != nil {
					flight = append(flight, c.String())
				}
			}
			t.Logf("round %d: %-8s killed %3d ms after go; calls returned per goroutine %v (torn lines %v); cut short: %q",
				r, rd.mode, rd.killAfter.Milliseconds(), rd.logged, rd.torn, flight)
		}
		taken, hung, refused := s.counts(id)
		s.mu.Lock()
		t.Logf("server: %d updates taken, %d hung, %d refused, %d taken with the answer lost, %d repeated keys", taken, hung, refused, s.lost[id.String()], s.repeats)
		s.mu.Unlock()
	}()

	checkSIGKILLFigures(t, rounds, received(s.updates(id), crashKinds()))
	s.checkProblems(t)
}

func crashKinds() map[string]string {
	kinds := map[string]string{
		"crash_hits": kindIncrement, "crash_ua": kindUnique, "crash_unique": kindUnique,
		"crash_list": kindAppend, "crash_state": kindSet, "crash_nested": kindNested,
	}
	for g := range crashGoroutines {
		kinds[fmt.Sprintf("crash_add_g%d", g)] = kindAdd
	}
	return kinds
}

// checkSIGKILLFigures compares what the server received with what the
// rounds' logs say was recorded.
func checkSIGKILLFigures(t *testing.T, rounds []crashRound, got *crashFigures) {
	t.Helper()
	for _, p := range got.problems {
		t.Error(p)
	}
	must, may := newCrashFigures(), newCrashFigures()
	addAmounts := map[string][]int{} // Add amounts cut short, per key
	for r, rd := range rounds {
		for g := range crashGoroutines {
			for n := range rd.logged[g] {
				must.record(crashOp(r, g, n))
			}
			if c := rd.inFlight[g]; c != nil {
				may.record(*c)
				if c.kind == kindAdd {
					addAmounts[c.key] = append(addAmounts[c.key], c.amount)
				}
			}
		}
	}
	var tally crashTally

	// Increment: between what returned and that plus the calls cut short.
	for _, key := range []string{"crash_hits"} {
		g, lo, hi := got.counters[key], must.counters[key], must.counters[key]+may.counters[key]
		switch {
		case g < lo:
			t.Errorf("Increment %q: got %d, logged %d, %d more cut short: %d lost", key, g, lo, hi-lo, lo-g)
			tally.lost += lo - g
		case g > hi:
			t.Errorf("Increment %q: got %d, logged %d, %d more cut short: %d duplicated", key, g, lo, hi-lo, g-hi)
			tally.duplicated += g - hi
		}
	}
	// Add: what returned plus the amounts of some of the calls cut short.
	for g := range crashGoroutines {
		key := fmt.Sprintf("crash_add_g%d", g)
		sums := map[int]bool{0: true}
		for _, a := range addAmounts[key] {
			next := map[int]bool{}
			for s := range sums {
				next[s], next[s+a] = true, true
			}
			sums = next
		}
		if diff := got.counters[key] - must.counters[key]; !sums[diff] {
			t.Errorf("Add %q: got %d, logged %d: the difference %d is no sum of the amounts cut short %v", key, got.counters[key], must.counters[key], diff, addAmounts[key])
			tally.wrongSums++
		}
	}
	// AppendUnique with values of a few: counts as for Increment.
	for _, v := range unionKeys(got.sets["crash_ua"], must.sets["crash_ua"]) {
		g, lo, hi := got.sets["crash_ua"][v], must.sets["crash_ua"][v], must.sets["crash_ua"][v]+may.sets["crash_ua"][v]
		switch {
		case g < lo:
			t.Errorf("AppendUnique \"crash_ua\" %s: counted %d, logged %d: %d lost", v, g, lo, lo-g)
			tally.lost += lo - g
		case g > hi:
			t.Errorf("AppendUnique \"crash_ua\" %s: counted %d, logged %d, %d more cut short: %d duplicated", v, g, lo, hi-lo, g-hi)
			tally.duplicated += g - hi
		}
	}
	// Values unique per call, counted (AppendUnique) and appended (Append):
	// each logged one exactly once, each cut short at most once.
	onceEach := func(what string, gotN, mustN, mayN map[string]int) {
		var lost, dup, phantom []string
		for _, v := range unionKeys(gotN, mustN) {
			g := gotN[v]
			switch {
			case mustN[v] > 0 && g == 0:
				lost = append(lost, v)
			case mustN[v] > 0 && g > 1, mayN[v] > 0 && g > 1:
				dup = append(dup, fmt.Sprintf("%s×%d", v, g))
				tally.duplicated += g - 1
			case mustN[v] == 0 && mayN[v] == 0 && g > 0:
				phantom = append(phantom, v)
				tally.phantom += g
			}
		}
		tally.lost += len(lost)
		if len(lost) > 0 {
			t.Errorf("%s: %d of %d logged values lost: %s", what, len(lost), len(mustN), someOf(lost))
		}
		if len(dup) > 0 {
			t.Errorf("%s: %d values arrived more than once: %s", what, len(dup), someOf(dup))
		}
		if len(phantom) > 0 {
			t.Errorf("%s: %d values arrived that no goroutine was recording: %s", what, len(phantom), someOf(phantom))
		}
	}
	onceEach(`AppendUnique "crash_unique"`, got.sets["crash_unique"], must.sets["crash_unique"], may.sets["crash_unique"])
	onceEach(`Append "crash_list"`, countStrings(got.lists["crash_list"]), countStrings(must.lists["crash_list"]), countStrings(may.lists["crash_list"]))

	// Set on one key from every goroutine: the last value received is the
	// last one logged by some goroutine in the last round that logged one,
	// or a call cut short in that round or later.
	lastValue := func(what string, got string, logged func(r, g int) (string, bool), cutShort func(c *crashCall) bool) {
		last := -1
		candidates := map[string]bool{}
		for r := range rounds {
			for g := range crashGoroutines {
				if _, ok := logged(r, g); ok {
					last = r
				}
			}
		}
		for r := range rounds {
			for g := range crashGoroutines {
				if v, ok := logged(r, g); ok && r == last {
					candidates[v] = true
				}
				if c := rounds[r].inFlight[g]; c != nil && r >= last && cutShort(c) {
					candidates[jsonText(c.value)] = true
				}
			}
		}
		if got == "" && last < 0 || candidates[got] {
			return
		}
		var want []string
		for v := range candidates {
			want = append(want, v)
		}
		sort.Strings(want)
		t.Errorf("%s: last value received %s, want one of %v", what, orNone(got), want)
		tally.wrongValues++
	}
	// lastLogged finds goroutine g's last logged call of round r that keep
	// accepts.
	lastLogged := func(keep func(c crashCall) bool) func(r, g int) (string, bool) {
		return func(r, g int) (string, bool) {
			for n := rounds[r].logged[g] - 1; n >= 0; n-- {
				if c := crashOp(r, g, n); keep(c) {
					return jsonText(c.value), true
				}
			}
			return "", false
		}
	}
	isState := func(c crashCall) bool { return c.kind == kindSet && c.key == "crash_state" }
	lastValue(`Set "crash_state"`, got.values["crash_state"], lastLogged(isState), func(c *crashCall) bool { return isState(*c) })
	for g := range crashGoroutines {
		sub := fmt.Sprintf("g%d", g)
		isSub := func(c crashCall) bool { return c.kind == kindNested && c.sub == sub }
		mine := lastLogged(isSub)
		only := func(r, gg int) (string, bool) {
			if gg != g {
				return "", false
			}
			return mine(r, gg)
		}
		lastValue(`SetNested "crash_nested" `+sub, got.nested["crash_nested"][sub], only, func(c *crashCall) bool { return isSub(*c) })
	}

	if tally != (crashTally{}) {
		t.Errorf("in all: %v", tally)
	}
}
