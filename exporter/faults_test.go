package exporter_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/payload"
)

// faultyServer answers its first `faulty` requests with fault, then 204.
// It counts the figures of the payloads it accepted.
type faultyServer struct {
	fault    func(w http.ResponseWriter, r *http.Request)
	faulty   int
	mu       sync.Mutex
	seen     int
	accepted int // the sum of "count" over accepted payloads
}

func (s *faultyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seen++
	faulty := s.seen <= s.faulty
	if !faulty {
		p, err := payload.DecodePayload(bytes.NewReader(body))
		if err == nil {
			s.accepted += p.Int("count")
		}
	}
	s.mu.Unlock()
	if faulty {
		s.fault(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func status(code int, header map[string]string, contentType, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// resetMidBody promises a body, sends half of it and drops the connection.
func resetMidBody(w http.ResponseWriter, _ *http.Request) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"next_upd")
	_ = buf.Flush()
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // a reset, not a clean close
	}
	_ = conn.Close()
}

func hang(w http.ResponseWriter, r *http.Request) {
	<-r.Context().Done()
}

// slowBody starts a valid answer and then trickles it past the timeout.
func slowBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	for _, c := range `{"next_update":3600000000000}` {
		_, _ = w.Write([]byte(string(c)))
		_ = rc.Flush()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
}

func TestFaultMatrix(t *testing.T) {
	httpDate := func() string { return time.Now().Add(1500 * time.Millisecond).UTC().Format(http.TimeFormat) }
	for _, tc := range []struct {
		name    string
		fault   func(http.ResponseWriter, *http.Request)
		refused bool
		retired string // the error when the server ends reporting
	}{
		{name: "refused connection", refused: true},
		{name: "reset mid-body", fault: resetMidBody},
		{name: "hang", fault: hang},
		{name: "slow body", fault: slowBody},
		{name: "500", fault: status(500, nil, "", "oops")},
		{name: "503 with Retry-After", fault: status(503, map[string]string{"Retry-After": "1"}, "", "")},
		{name: "429 with an HTTP-date Retry-After", fault: func(w http.ResponseWriter, r *http.Request) {
			status(429, map[string]string{"Retry-After": httpDate()}, "", "")(w, r)
		}},
		{name: "410 with a body", fault: status(410, nil, "text/plain", "this endpoint is gone"), retired: "this endpoint is gone"},
		{name: "451", fault: status(451, nil, "", ""), retired: "451"},
		{name: "200 with HTML", fault: status(200, nil, "text/html", "<html>hi</html>")},
		{name: "200 with truncated JSON", fault: status(200, nil, "application/json", `{"next_update":`)},
		{name: "200 with a 10 MiB body", fault: status(200, nil, "application/json", `{"error":"`+strings.Repeat("x", 10<<20)+`"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &faultyServer{fault: tc.fault, faulty: 2}
			if tc.refused {
				srv.faulty = 0 // the fault is in the network
			}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			opts := []exporter.Option{fastRetry(2), exporter.WithRequestTimeout(300 * time.Millisecond)}
			if tc.refused {
				opts = append(opts, exporter.WithHTTPClient(refusingClient(t, 2)))
			}
			exp := newExporterTo(t, ts.URL+"/v1/update/", opts...)
			ctx := context.Background()

			err := exp.Export(ctx, collection(sum("count", pt(5))))
			if err == nil {
				t.Fatal("the faulty update was reported as delivered")
			}
			mustContain(t, err) // and never reveals the instance ID
			if tc.retired != "" {
				mustContain(t, err, tc.retired)
				_ = exp.Export(ctx, collection(sum("count", pt(3))))
				if srv.seen != 1 || srv.accepted != 0 || !exp.Stopped() {
					t.Errorf("after %s: %d requests, %d accepted, stopped %v; want 1, 0, true", tc.name, srv.seen, srv.accepted, exp.Stopped())
				}
				return
			}
			if err := exp.Export(ctx, collection(sum("count", pt(3)))); err != nil {
				t.Fatalf("after the fault: %v", err)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.accepted != 8 {
				t.Errorf("the server accepted a count of %d over all updates, want exactly 8 (5 carried + 3)", srv.accepted)
			}
		})
	}
}

// refusingClient's first n connections go to a port where nothing
// listens, and are refused; later ones reach the server.
func refusingClient(t *testing.T, n int) *http.Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	var mu sync.Mutex
	dials := 0
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials++
		refuse := dials <= n
		mu.Unlock()
		if refuse {
			addr = closed
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}
