package deploy_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

// faultProxy stands between HAProxy and one replica, as the network in
// front of a host would: it forwards every request, and for a share of the
// updates the replica accepted (2xx) it closes the connection instead of
// passing the answer on. The client then cannot tell whether its update
// was taken, which is the case Idempotency-Key exists for. Each accepted
// update is entered in the ledger under its key.
type faultProxy struct {
	replica   string
	target    string // the replica's base URL
	dropShare float64
	ledger    *ledger
	client    *http.Client
	srv       *http.Server
	addr      string
	dropped   atomic.Int64
	forwarded atomic.Int64
}

func startFaultProxy(replica, target string, dropShare float64, l *ledger) (*faultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &faultProxy{replica: replica, target: target, dropShare: dropShare, ledger: l,
		client: &http.Client{Timeout: 30 * time.Second}, addr: ln.Addr().String()}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// close stops listening and cuts every open connection: the host is gone,
// so that HAProxy's checks and retries see a refused connection.
func (p *faultProxy) close() { _ = p.srv.Close() }

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	p.forwarded.Add(1)
	res, err := p.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if res.StatusCode/100 == 2 && r.Method == http.MethodPost {
		key := r.Header.Get(payload.HeaderIdempotencyKey)
		p.ledger.accept(p.replica, key, body)
		if rand.Float64() < p.dropShare && p.hangUp(w) {
			p.dropped.Add(1)
			p.ledger.answerDropped(key)
			return
		}
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(answer)
}

// hangUp closes the client's connection without an answer.
func (p *faultProxy) hangUp(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// ledger holds every update a replica accepted, by Idempotency-Key: the
// figure it carried (chaosKey's increase) and which replicas accepted it
// when. A key accepted by one replica twice was answered from that
// replica's window; a key accepted by two replicas was counted by both.
type ledger struct {
	mu       sync.Mutex
	keys     map[string]*accepted
	problems []string
}

type accepted struct {
	value float64
	first map[string]time.Time // replica: its first acceptance
	times int                  // acceptances, repeats included
	drops int                  // accepted with the answer dropped
}

func newLedger() *ledger { return &ledger{keys: map[string]*accepted{}} }

func (l *ledger) accept(replica, key string, body []byte) {
	now := time.Now()
	value, err := chaosFigure(body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || key == "" {
		l.problems = append(l.problems, fmt.Sprintf("%s accepted an update with key %q: %v", replica, key, err))
		return
	}
	a := l.keys[key]
	if a == nil {
		a = &accepted{value: value, first: map[string]time.Time{}}
		l.keys[key] = a
	} else if a.value != value {
		l.problems = append(l.problems, fmt.Sprintf("key %s sent again with %v, first with %v", key, value, a.value))
	}
	a.times++
	if _, ok := a.first[replica]; !ok {
		a.first[replica] = now
	}
}

func (l *ledger) answerDropped(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.keys[key]; a != nil {
		a.drops++
	}
}

// chaosFigure is the increase of chaosKey an update carries (0 without it).
func chaosFigure(body []byte) (float64, error) {
	p, err := payload.DecodePayload(bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	switch v := p.Data[chaosKey].(type) {
	case nil:
		return 0, nil
	case float64:
		return v, nil
	default:
		return 0, fmt.Errorf("%s is %T", chaosKey, v)
	}
}

// ledgerTotals sums the ledger.
type ledgerTotals struct {
	distinct   float64            // every key once: what the clients delivered
	duplicated float64            // counted again by a second (third) replica
	repeats    int                // acceptances of a key a replica already had
	unanswered int                // keys whose every answer was dropped
	keys       int                // distinct keys
	byReplica  map[string]float64 // per replica, each key once
}

func (l *ledger) totals() ledgerTotals {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := ledgerTotals{byReplica: map[string]float64{}}
	for _, a := range l.keys {
		t.keys++
		t.distinct += a.value
		t.duplicated += a.value * float64(len(a.first)-1)
		t.repeats += a.times - len(a.first)
		if a.drops == a.times {
			t.unanswered++
		}
		for r := range a.first {
			t.byReplica[r] += a.value
		}
	}
	return t
}

// busiest is the replica that accepted most.
func (t ledgerTotals) busiest() string {
	name := ""
	for r, v := range t.byReplica {
		if name == "" || v > t.byReplica[name] {
			name = r
		}
	}
	return name
}

// acceptedSince is what replica accepted first at or after since.
func (l *ledger) acceptedSince(replica string, since time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	sum := 0.0
	for _, a := range l.keys {
		if at, ok := a.first[replica]; ok && !at.Before(since) {
			sum += a.value
		}
	}
	return sum
}

func (l *ledger) problemList() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.problems...)
}
