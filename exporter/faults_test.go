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

// countingServer counts every update it receives, duplicates included,
// while faulty answers each with fault: before taking the update, or, when
// after is set, once it took it (so that the answer is what fails). A
// server that honours the update key remembers the keys it took and
// answers a repeat as it answered the first, without counting it again.
type countingServer struct {
	fault  func(w http.ResponseWriter, r *http.Request)
	after  bool
	honour bool

	mu       sync.Mutex
	faulty   bool
	requests int
	faultyN  int             // requests answered with the fault
	counted  int             // the sum of "count" over the updates taken
	dropped  int             // the sum of telemetry.dropped_items over them
	taken    map[string]bool // keys taken
	keysOf   map[int]map[string]bool
}

func newCountingServer(fault func(http.ResponseWriter, *http.Request), after, honour bool) *countingServer {
	return &countingServer{fault: fault, after: after, honour: honour, faulty: true, taken: map[string]bool{}, keysOf: map[int]map[string]bool{}}
}

func (s *countingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get(payload.HeaderIdempotencyKey)
	s.mu.Lock()
	s.requests++
	faulty := s.faulty
	if faulty {
		s.faultyN++
	}
	p, err := payload.DecodePayload(bytes.NewReader(body))
	if err == nil {
		n := p.Int("count")
		if s.keysOf[n] == nil {
			s.keysOf[n] = map[string]bool{}
		}
		s.keysOf[n][key] = true
	}
	repeat := s.honour && s.taken[key]
	if err == nil && !repeat && (!faulty || s.after) {
		s.counted += p.Int("count")
		s.dropped += p.Int(payload.KeyDropped)
		s.taken[key] = true
	}
	s.mu.Unlock()
	if faulty {
		s.fault(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *countingServer) heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faulty = false
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

// loseAnswer closes the connection without answering, as a connection
// lost on the way back does.
func loseAnswer(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// Each fault strikes twice: before the server took the update, and after
// (the server counted it; only the answer fails). The client records 5,
// fails, records 3, and the server heals. A server that honours the update
// key counts 8, exactly, whatever failed; one that ignores it counts what
// it took as often as it took it, and the test shows how often that is.
func TestFaultMatrix(t *testing.T) {
	httpDate := func() string { return time.Now().Add(1500 * time.Millisecond).UTC().Format(http.TimeFormat) }
	for _, tc := range []struct {
		name    string
		fault   func(http.ResponseWriter, *http.Request)
		network bool   // the connection is refused: only "before" exists
		retired string // the error when the server ends reporting
		refused bool   // refused for good: the 5 is dropped and counted
	}{
		{name: "refused connection", network: true},
		{name: "answer lost", fault: loseAnswer},
		{name: "reset mid-body", fault: resetMidBody},
		{name: "hang", fault: hang},
		{name: "slow body", fault: slowBody},
		{name: "500", fault: status(500, nil, "", "oops")},
		{name: "503", fault: status(503, nil, "", "")},
		{name: "503 with Retry-After", fault: status(503, map[string]string{"Retry-After": "1"}, "", "")},
		{name: "504 from a proxy", fault: status(504, nil, "text/html", "<html><body>Gateway Time-out</body></html>")},
		{name: "409 while the key is handled", fault: status(409, nil, "", "")},
		{name: "429 with an HTTP-date Retry-After", fault: func(w http.ResponseWriter, r *http.Request) {
			status(429, map[string]string{"Retry-After": httpDate()}, "", "")(w, r)
		}},
		{name: "200 with HTML", fault: status(200, nil, "text/html", "<html>hi</html>")},
		{name: "200 with truncated JSON", fault: status(200, nil, "application/json", `{"next_update":`)},
		{name: "200 with a 10 MiB body", fault: status(200, nil, "application/json", `{"error":"`+strings.Repeat("x", 10<<20)+`"}`)},
		{name: "400", fault: status(400, nil, "application/json", `{"error":"bad update"}`), refused: true},
		{name: "413", fault: status(413, nil, "", ""), refused: true},
		{name: "410 with a body", fault: status(410, nil, "text/plain", "this endpoint is gone"), retired: "this endpoint is gone"},
		{name: "451", fault: status(451, nil, "", ""), retired: "451"},
	} {
		for _, after := range []bool{false, true} {
			if after && tc.network {
				continue
			}
			for _, honour := range []bool{true, false} {
				name := tc.name + map[bool]string{false: "/before", true: "/after"}[after] + map[bool]string{false: "/key ignored", true: "/key honoured"}[honour]
				t.Run(name, func(t *testing.T) {
					srv := newCountingServer(tc.fault, after, honour)
					if tc.network {
						srv.heal()
					}
					runFault(t, srv, tc.network, tc.retired, tc.refused)
				})
			}
		}
	}
}

func runFault(t *testing.T, srv *countingServer, network bool, retired string, refused bool) {
	ts := httptest.NewServer(srv)
	defer ts.Close()
	opts := []exporter.Option{fastRetry(2), exporter.WithRequestTimeout(300 * time.Millisecond)}
	if network {
		opts = append(opts, exporter.WithHTTPClient(refusingClient(t, 2)))
	}
	exp := newExporterTo(t, ts.URL+"/v1/update/", opts...)
	ctx := context.Background()

	err := exp.Export(ctx, collection(sum("count", pt(5))))
	if err == nil {
		t.Fatal("the faulty update was reported as delivered")
	}
	mustContain(t, err) // and never reveals the instance ID
	srv.heal()
	if retired != "" {
		mustContain(t, err, retired)
		_ = exp.Export(ctx, collection(sum("count", pt(3))))
		if srv.requests != 1 || !exp.Stopped() {
			t.Errorf("%d requests, stopped %v; want 1, true", srv.requests, exp.Stopped())
		}
		return
	}
	if refused {
		mustContain(t, err, "refused", "dropped")
	}
	if err := exp.Export(ctx, collection(sum("count", pt(3)))); err != nil {
		t.Fatalf("after the fault: %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	want, wantDropped := 8, 0
	switch {
	case refused && srv.after:
		wantDropped = 1 // the server took the 5 and refused it all the same
	case refused:
		want, wantDropped = 3, 1 // the 5 is dropped, and counted as such
	case !srv.honour && srv.after:
		want = 5*srv.faultyN + 5 + 3 // each faulty answer followed a count
	}
	t.Logf("%d requests (%d faulty); the server counted %d (dropped %d); the program recorded 8", srv.requests, srv.faultyN, srv.counted, srv.dropped)
	if srv.counted != want || srv.dropped != wantDropped {
		t.Errorf("the server counted %d, dropped %d; want %d, %d", srv.counted, srv.dropped, want, wantDropped)
	}
	if !network && len(srv.keysOf[5]) != 1 {
		t.Errorf("the update of 5 went with keys %v, want one key however often it was sent", srv.keysOf[5])
	}
	if refused && srv.requests-srv.faultyN != 1 {
		t.Errorf("%d requests after the refusal, want 1: a refused update is not sent again", srv.requests-srv.faultyN)
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
