package exporter_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

// Environment of a child that sends one update and dies before the
// answer arrives.
const (
	answerLostChildEnv    = "EXPORTER_ANSWER_LOST_CHILD" // the spool directory
	answerLostEndpointEnv = "EXPORTER_ANSWER_LOST_ENDPOINT"
)

// runAnswerLostChild exports a count of 5 with a spool and waits for the
// answer, which never comes: the parent kills it first.
func runAnswerLostChild(dir string) int {
	exp, err := exporter.New(exporter.WithEndpoint(os.Getenv(answerLostEndpointEnv)), exporter.WithInstanceID(testID),
		exporter.WithRuntimeFigures(false), exporter.WithSpool(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_ = exp.Export(context.Background(), collection(sum("count", pt(5))))
	return 3 // the parent kills the child before the answer comes
}

// keyCounter counts the updates it takes; with honour set, an update whose
// key it took before is answered again without being counted. While
// holding is set it takes an update and then holds the answer back.
type keyCounter struct {
	honour  bool
	mu      sync.Mutex
	holding bool
	took    chan struct{}
	counted int
	keys    []string // of every request, in order
	taken   map[string]bool
}

func (s *keyCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get(payload.HeaderIdempotencyKey)
	s.mu.Lock()
	s.keys = append(s.keys, key)
	p, err := payload.DecodePayload(bytes.NewReader(body))
	if err == nil && !(s.honour && s.taken[key]) {
		s.counted += p.Int("count")
		s.taken[key] = true
	}
	holding := s.holding
	s.mu.Unlock()
	if holding {
		close(s.took)
		<-r.Context().Done() // the client dies waiting
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// A process dies after the server counted its update but before the
// answer arrived. The next process with the same spool sends that update
// again as it was, with the same key: a server that honours the key counts
// it once; one that ignores it counts it twice.
func TestUpdateWhoseAnswerWasLostIsSentAgainByTheNextProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	for _, honour := range []bool{true, false} {
		t.Run(map[bool]string{true: "key honoured", false: "key ignored"}[honour], func(t *testing.T) {
			srv := &keyCounter{honour: honour, holding: true, took: make(chan struct{}), taken: map[string]bool{}}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), answerLostChildEnv+"="+dir, answerLostEndpointEnv+"="+ts.URL+"/v1/update/")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-srv.took:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("the child sent nothing: %s", stderr.String())
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			srv.mu.Lock()
			srv.holding = false
			srv.mu.Unlock()

			next := newExporterTo(t, ts.URL+"/v1/update/", exporter.WithSpool(dir))
			if err := next.Export(context.Background(), collection(sum("count", pt(3)))); err != nil {
				t.Fatal(err)
			}
			_ = next.Shutdown(context.Background())

			srv.mu.Lock()
			defer srv.mu.Unlock()
			t.Logf("requests with keys %q; the server counted %d; the processes recorded 8", srv.keys, srv.counted)
			if len(srv.keys) != 3 || srv.keys[0] == "" || srv.keys[1] != srv.keys[0] || srv.keys[2] == srv.keys[0] {
				t.Errorf("keys %q: want the lost update's key twice, then another", srv.keys)
			}
			want := 8
			if !honour {
				want = 5 + 5 + 3
			}
			if srv.counted != want {
				t.Errorf("the server counted %d, want %d", srv.counted, want)
			}
			if files := figureFiles(t, dir); len(files) != 0 {
				t.Errorf("delivered figures are still spooled: %v", files)
			}
		})
	}
}
