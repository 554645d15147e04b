// Package servertest is a telemetry server for tests: it listens on
// loopback, keeps every request, and answers with scripted replies.
package servertest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

// Reply is one scripted answer.
type Reply struct {
	Status      int
	Body        string
	ContentType string
	Header      map[string]string
	Delay       time.Duration // wait before answering (ends early if the client gives up)
}

// JSON is a 200 answer carrying resp, written as the servers write theirs.
func JSON(resp payload.Response) Reply {
	return Reply{Status: http.StatusOK, Body: string(payload.AppendResponse(nil, resp)), ContentType: "application/json"}
}

// Request is what the server received.
type Request struct {
	Method, Path, ContentType string
	Body                      []byte
	At                        time.Time
	Key                       string // the Idempotency-Key header, if any
}

// Payload decodes the request body, failing t if it is not a payload.
func (r Request) Payload(t testing.TB) payload.Payload {
	t.Helper()
	p, err := payload.DecodePayload(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("server got an undecodable payload: %v\n%s", err, r.Body)
	}
	return p
}

// Server answers with its script in order, then with its fallback reply
// (by default: next update in an hour).
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	script   []Reply
	fallback Reply
	got      []Request
	arrived  chan struct{}
}

// New starts a server that t closes at its end.
func New(t testing.TB, script ...Reply) *Server {
	t.Helper()
	s := &Server{
		script:   script,
		fallback: JSON(payload.Response{NextUpdate: time.Hour}),
		arrived:  make(chan struct{}, 1),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// SetFallback sets the reply given once the script is used up.
func (s *Server) SetFallback(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = r
}

// Endpoint is the base URL to configure an exporter with.
func (s *Server) Endpoint() string { return s.URL + "/v1/update/" }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.got = append(s.got, Request{
		Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body, At: time.Now(),
		Key: r.Header.Get(payload.HeaderIdempotencyKey),
	})
	rep := s.fallback
	if len(s.script) > 0 {
		rep, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if rep.ContentType != "" {
		w.Header().Set("Content-Type", rep.ContentType)
	}
	w.WriteHeader(rep.Status)
	_, _ = io.WriteString(w, rep.Body)
}

// Requests returns what the server received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.got...)
}

// Wait waits until n requests arrived, failing t after a generous bound.
func (s *Server) Wait(t testing.TB, n int) []Request {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		got := s.Requests()
		if len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("server got %d requests, want %d", len(got), n)
		}
	}
}
