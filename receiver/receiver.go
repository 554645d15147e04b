package receiver

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

// Receiver is a telemetry server: an http.Handler that accepts updates at
// POST <prefix><instance UUID>, keeps them in memory (and optionally in a
// JSON lines file), and answers with the Response configured for the
// instance. It is safe for concurrent use.
type Receiver struct {
	cfg      config
	window   *payload.Window
	schedule *payload.Schedule // nil: answers as configured, takes every update

	mu        sync.Mutex
	instances map[uuid.UUID]*instance
	order     []uuid.UUID // least recently heard from first
	faults    []Fault
	lines     sync.Mutex // serialises writes to cfg.jsonLines
}

type instance struct {
	payloads []payload.Payload
	response *payload.Response // nil: the default
}

// Exchange is one update the receiver took and the answer it gave, for
// WithOnUpdate.
type Exchange struct {
	Instance uuid.UUID
	Payload  payload.Payload
	Response payload.Response
}

// New returns a Receiver.
func New(opts ...Option) *Receiver {
	cfg := newConfig(opts)
	r := &Receiver{cfg: cfg, instances: make(map[uuid.UUID]*instance), window: payload.NewWindow(cfg.window)}
	if cfg.schedule != nil {
		r.schedule = payload.NewSchedule(*cfg.schedule)
	}
	return r
}

// ServeHTTP handles one update.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.injectFault(w, req) {
		return
	}
	id, status, err := payload.CheckRequest(req, r.cfg.prefix)
	if err != nil {
		payload.WriteError(w, status, err)
		return
	}
	p, status, err := r.decode(w, req, id)
	if err != nil {
		payload.WriteError(w, status, err)
		return
	}
	claim, proceed := r.window.Begin(w, req, id)
	if !proceed {
		return // a repeat of an accepted update, or one in flight: answered
	}
	defer claim.Release()
	if wait := r.schedule.TooEarly(id); wait > 0 {
		payload.WriteTooEarly(w, wait)
		return
	}
	resp := r.ResponseFor(id)
	resp.NextUpdate = r.schedule.Spread(resp.NextUpdate)
	p.ExpectNext = r.cfg.now().Add(expectedWithin(resp.NextUpdate)).UTC()
	r.store(id, p)
	r.schedule.Accepted(id, resp.NextUpdate)
	if r.cfg.onUpdate != nil {
		r.cfg.onUpdate(Exchange{Instance: id, Payload: p, Response: resp})
	}
	claim.Answer(w, http.StatusOK, resp)
}

// expectedWithin is how soon a client following next_update reports
// again: next_update itself, or the protocol's default interval (an hour
// plus up to a minute) when next_update is under a second.
func expectedWithin(next time.Duration) time.Duration {
	if next < time.Second {
		return time.Hour + time.Minute
	}
	return next
}

func (r *Receiver) decode(w http.ResponseWriter, req *http.Request, id uuid.UUID) (payload.Payload, int, error) {
	maxBody := r.cfg.limits.MaxBodyBytes
	var src io.Reader = http.MaxBytesReader(w, req.Body, maxBody)
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return payload.Payload{}, http.StatusBadRequest, fmt.Errorf("the gzip body is broken: %v", err)
		}
		// The limit also bounds what the body inflates to.
		src = &limitedReader{r: zr, left: maxBody}
	default:
		return payload.Payload{}, http.StatusUnsupportedMediaType, fmt.Errorf("content encoding %q is not supported: send identity or gzip", enc)
	}
	body, err := io.ReadAll(src)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) || errors.Is(err, errTooLarge) {
			return payload.Payload{}, http.StatusRequestEntityTooLarge, fmt.Errorf("the update is larger than %d bytes", maxBody)
		}
		return payload.Payload{}, http.StatusBadRequest, fmt.Errorf("reading the update: %v", err)
	}
	p, err := payload.ParsePayload(body, r.cfg.limits)
	if err != nil {
		return p, payload.ParseStatus(err), err
	}
	if err := payload.CheckInstanceID(p.InstanceID, id); err != nil {
		return p, http.StatusBadRequest, err
	}
	p.InstanceID = id.String() // one spelling per instance
	return p, 0, nil
}

// store keeps p, within the per-instance and instance bounds, and writes
// it to the JSON lines file if there is one.
func (r *Receiver) store(id uuid.UUID, p payload.Payload) {
	r.mu.Lock()
	inst := r.touch(id)
	inst.payloads = append(inst.payloads, p)
	if over := len(inst.payloads) - r.cfg.keep; over > 0 {
		inst.payloads = append(inst.payloads[:0:0], inst.payloads[over:]...)
	}
	r.mu.Unlock()
	if r.cfg.jsonLines != nil {
		// A decoded payload holds only what JSON can carry, so Append
		// cannot fail on it; the check keeps a half line out regardless.
		line, err := payload.Append(nil, p)
		if err == nil {
			r.lines.Lock()
			_, _ = r.cfg.jsonLines.Write(append(line, '\n'))
			r.lines.Unlock()
		}
	}
}

// touch returns id's record, making it the most recent; r.mu is held.
func (r *Receiver) touch(id uuid.UUID) *instance {
	inst, ok := r.instances[id]
	if ok {
		for i, o := range r.order {
			if o == id {
				r.order = append(r.order[:i], r.order[i+1:]...)
				break
			}
		}
	} else {
		inst = &instance{}
		r.instances[id] = inst
		if len(r.order) >= r.cfg.maxInstances {
			delete(r.instances, r.order[0])
			r.order = r.order[1:]
		}
	}
	r.order = append(r.order, id)
	return inst
}

// SetDefaultResponse changes the answer to instances without their own.
func (r *Receiver) SetDefaultResponse(resp payload.Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg.response = resp
}

// SetResponse sets the answer to one instance while the receiver runs.
func (r *Receiver) SetResponse(id uuid.UUID, resp payload.Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.touch(id).response = &resp
}

// ResponseFor returns what the receiver answers id.
func (r *Receiver) ResponseFor(id uuid.UUID) payload.Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	if inst, ok := r.instances[id]; ok && inst.response != nil {
		return *inst.response
	}
	return r.cfg.response
}

// Payloads returns the payloads kept for id, oldest first.
func (r *Receiver) Payloads(id uuid.UUID) []payload.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	if inst, ok := r.instances[id]; ok {
		return append([]payload.Payload(nil), inst.payloads...)
	}
	return nil
}

// Instances returns the instances heard from, least recent first.
func (r *Receiver) Instances() []uuid.UUID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uuid.UUID(nil), r.order...)
}

// Fault makes the receiver misbehave on purpose, for tests of clients.
type Fault struct {
	Status     int           // answer with this status (0: 503)
	RetryAfter string        // a Retry-After header, if not empty
	Delay      time.Duration // wait this long first (ends if the client gives up)
	Body       string        // the body to send, e.g. broken JSON
	Count      int           // for this many requests (at least 1)
}

// InjectFaults queues faults: the next requests get them, in order, each
// for its Count, before normal service resumes.
func (r *Receiver) InjectFaults(faults ...Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range faults {
		f.Count = max(f.Count, 1)
		if f.Status == 0 {
			f.Status = http.StatusServiceUnavailable
		}
		r.faults = append(r.faults, f)
	}
}

// injectFault answers req with the next queued fault, if any.
func (r *Receiver) injectFault(w http.ResponseWriter, req *http.Request) bool {
	r.mu.Lock()
	if len(r.faults) == 0 {
		r.mu.Unlock()
		return false
	}
	f := r.faults[0]
	if r.faults[0].Count--; r.faults[0].Count == 0 {
		r.faults = r.faults[1:]
	}
	r.mu.Unlock()
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-req.Context().Done():
			return true
		}
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, f.Body)
	return true
}

var errTooLarge = errors.New("body too large")

// limitedReader fails, rather than stopping quietly, past its limit.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errTooLarge
	}
	return n, err
}
