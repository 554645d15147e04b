package exporter_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

var testID = uuid.MustParse("6a0f5f7e-7c1b-4c55-9b55-3f6f3a5e2b11")

// reply is one scripted answer of the fake server.
type reply struct {
	status      int
	body        string
	contentType string
	header      map[string]string
	delay       time.Duration
}

func jsonReply(resp payload.Response) reply {
	b, _ := json.Marshal(resp)
	return reply{status: 200, body: string(b), contentType: "application/json"}
}

// request is what the fake server received.
type request struct {
	method, path, contentType string
	body                      []byte
	at                        time.Time
}

func (r request) payload(t *testing.T) payload.Payload {
	t.Helper()
	p, err := payload.DecodePayload(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("server got an undecodable payload: %v\n%s", err, r.body)
	}
	return p
}

// fakeServer speaks the server side of the protocol on loopback. It answers
// with the scripted replies in order, then with its fallback reply.
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	script   []reply
	fallback reply
	got      []request
	arrived  chan struct{}
}

func newFakeServer(t *testing.T, script ...reply) *fakeServer {
	t.Helper()
	s := &fakeServer{
		script:   script,
		fallback: jsonReply(payload.Response{NextUpdate: time.Hour}),
		arrived:  make(chan struct{}, 100),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got = append(s.got, request{r.Method, r.URL.Path, r.Header.Get("Content-Type"), body, time.Now()})
	rep := s.fallback
	if len(s.script) > 0 {
		rep, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	s.arrived <- struct{}{}
	if rep.delay > 0 {
		select {
		case <-time.After(rep.delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.contentType != "" {
		w.Header().Set("Content-Type", rep.contentType)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (s *fakeServer) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.got...)
}

// waitRequests waits until n requests arrived, failing the test after a
// generous bound.
func (s *fakeServer) waitRequests(t *testing.T, n int) []request {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(s.requests()) < n {
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("server got %d requests, want %d", len(s.requests()), n)
		}
	}
	return s.requests()
}

// endpoint is the base URL the exporter is configured with.
func (s *fakeServer) endpoint() string { return s.URL + "/v1/update/" }

// fastRetry keeps retry tests short.
func fastRetry(attempts int) exporter.Option {
	return exporter.WithRetry(exporter.RetryConfig{
		MaxAttempts: attempts,
		Backoff:     func(int) time.Duration { return time.Millisecond },
	})
}

func newExporter(t *testing.T, s *fakeServer, opts ...exporter.Option) *exporter.Exporter {
	t.Helper()
	all := append([]exporter.Option{
		exporter.WithEndpoint(s.endpoint()),
		exporter.WithInstanceID(testID),
		exporter.WithRuntimeFigures(false),
		fastRetry(4),
	}, opts...)
	exp, err := exporter.New(all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return exp
}

func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
	if strings.Contains(err.Error(), testID.String()) {
		t.Errorf("error %q reveals the instance ID", err)
	}
}

// recordingRetry retries four times without waiting and notes which attempt
// numbers the back-off was asked about.
func recordingRetry(attempts *[]int) exporter.Option {
	return exporter.WithRetry(exporter.RetryConfig{
		MaxAttempts: 4,
		Backoff: func(n int) time.Duration {
			*attempts = append(*attempts, n)
			return time.Millisecond
		},
	})
}

// encode renders a decoded JSON value again (maps come out with sorted keys).
func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
