package payload

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Defaults of WindowConfig.
const (
	// DefaultWindowKeys is how many accepted keys a Window remembers: at
	// about 260 bytes each (TestWindowMemoryIsBounded prints the figure),
	// some 25 MiB per replica, whatever the length of the answers.
	DefaultWindowKeys = 100_000
	// DefaultWindowAge is how long a Window remembers a key: a client
	// retries an update within minutes, and its next process sends a
	// spooled one when it starts, which is usually within a day.
	DefaultWindowAge = 24 * time.Hour
	// MaxIdempotencyKeyBytes bounds the Idempotency-Key a server takes;
	// a longer one is refused with 400.
	MaxIdempotencyKeyBytes = 256
)

// WindowConfig bounds what a Window remembers.
type WindowConfig struct {
	// MaxKeys bounds the accepted keys remembered (0: DefaultWindowKeys);
	// past it the oldest is forgotten first.
	MaxKeys int
	// MaxAge bounds how long an accepted key is remembered (0:
	// DefaultWindowAge).
	MaxAge time.Duration
	// Clock tells the time (nil: time.Now); tests set it.
	Clock func() time.Time
}

// Window is how a server honours HeaderIdempotencyKey: it remembers, per
// instance, the keys of the updates it accepted and the answer it gave,
// within a bound of count and age. A request whose key was accepted gets
// that answer again, and its data is not passed on; a request whose key
// is being processed right now gets 409 Conflict with Retry-After, as the
// IETF draft has it; a request whose processing failed leaves nothing
// behind, so that its retry can succeed. A request without the header is
// served as before. Its state is in memory only: a server that restarts
// forgets the keys it accepted. A Window is safe for concurrent use.
type Window struct {
	maxKeys int
	maxAge  time.Duration
	clock   func() time.Time

	mu      sync.Mutex
	entries map[windowKey]windowEntry
	order   []windowKey // accepted keys, a ring: oldest at head
	head    int
	count   int // accepted keys in order
	deleted int // entries deleted since the map was last rebuilt
}

type windowKey struct {
	instance uuid.UUID
	key      string
}

// windowEntry is a key in flight (accepted zero) or accepted. The answer
// is kept as the Response, not its bytes: its lists (disable_keys) are
// shared with the server's configuration rather than copied per key, so
// an entry costs the same however long the answer.
type windowEntry struct {
	accepted int64 // unix nanoseconds
	status   int
	resp     Response
}

// NewWindow returns an empty Window.
func NewWindow(cfg WindowConfig) *Window {
	w := &Window{maxKeys: cfg.MaxKeys, maxAge: cfg.MaxAge, clock: cfg.Clock, entries: make(map[windowKey]windowEntry)}
	if w.maxKeys <= 0 {
		w.maxKeys = DefaultWindowKeys
	}
	if w.maxAge <= 0 {
		w.maxAge = DefaultWindowAge
	}
	if w.clock == nil {
		w.clock = time.Now
	}
	return w
}

// Len returns the number of keys remembered, accepted or in flight.
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.entries)
}

// Begin looks up the request's Idempotency-Key for instance. When the
// request is to be processed it returns a Claim and true; otherwise it has
// answered the request itself (the stored answer, 409, or 400 for a key
// that is too long) and returns false. A nil Window, or a request without
// the header, always proceeds.
func (w *Window) Begin(rw http.ResponseWriter, req *http.Request, instance uuid.UUID) (*Claim, bool) {
	key := req.Header.Get(HeaderIdempotencyKey)
	if w == nil || key == "" {
		return nil, true
	}
	if len(key) > MaxIdempotencyKeyBytes {
		WriteError(rw, http.StatusBadRequest, fmt.Errorf("the %s header is %d bytes, over the limit of %d", HeaderIdempotencyKey, len(key), MaxIdempotencyKeyBytes))
		return nil, false
	}
	k := windowKey{instance, key}
	w.mu.Lock()
	w.expire()
	e, seen := w.entries[k]
	if !seen {
		w.entries[k] = windowEntry{}
	}
	w.mu.Unlock()
	switch {
	case !seen:
		k.key = cloneKey(key)
		return &Claim{w: w, key: k}, true
	case e.accepted == 0:
		rw.Header().Set("Retry-After", "1")
		WriteError(rw, http.StatusConflict, fmt.Errorf("an update with this %s is being processed: send it again with the same key", HeaderIdempotencyKey))
	default:
		_ = WriteResponse(rw, e.status, e.resp)
	}
	return nil, false
}

// cloneKey copies a header value, which lives in the request's buffers.
func cloneKey(s string) string { return string([]byte(s)) }

// expire forgets accepted keys past the age bound; w.mu is held.
func (w *Window) expire() {
	oldest := w.clock().Add(-w.maxAge).UnixNano()
	for w.count > 0 {
		k := w.order[w.head]
		if e, ok := w.entries[k]; ok && e.accepted != 0 && e.accepted >= oldest {
			return
		}
		w.popOldest()
	}
}

// popOldest forgets the oldest accepted key; w.mu is held.
func (w *Window) popOldest() {
	k := w.order[w.head]
	if e, ok := w.entries[k]; ok && e.accepted != 0 {
		w.forget(k)
	}
	w.order[w.head] = windowKey{}
	w.head = (w.head + 1) % len(w.order)
	w.count--
}

// forget deletes an entry; w.mu is held. A map never shrinks, and one
// that keys come and go through grows past its size: it is rebuilt once
// as many entries were deleted as it may hold, one pass per that many.
func (w *Window) forget(k windowKey) {
	delete(w.entries, k)
	if w.deleted++; w.deleted >= w.maxKeys {
		fresh := make(map[windowKey]windowEntry, len(w.entries))
		for k, e := range w.entries {
			fresh[k] = e
		}
		w.entries, w.deleted = fresh, 0
	}
}

// remember stores the answer to an accepted key; w.mu is held.
func (w *Window) remember(k windowKey, status int, resp Response) {
	if w.count == w.maxKeys {
		w.popOldest()
	}
	if w.count == len(w.order) {
		w.grow()
	}
	w.order[(w.head+w.count)%len(w.order)] = k
	w.count++
	w.entries[k] = windowEntry{accepted: w.clock().UnixNano(), status: status, resp: resp}
}

// grow doubles the ring, up to maxKeys, oldest first; w.mu is held. It
// starts small, so that an idle server holds little.
func (w *Window) grow() {
	grown := make([]windowKey, min(2*len(w.order)+64, w.maxKeys))
	n := copy(grown, w.order[w.head:])
	copy(grown[n:], w.order[:w.head])
	w.order, w.head = grown, 0
}

// Claim is a request's hold on its Idempotency-Key while the server
// processes it. A nil Claim (no key) does nothing but write the answer.
type Claim struct {
	w    *Window
	key  windowKey
	done bool
}

// Answer writes the answer to the request. A 2xx answer means the data
// was taken: the key and this answer are remembered for repeats. Any
// other answer forgets the key, so that a retry is processed again.
func (c *Claim) Answer(rw http.ResponseWriter, status int, resp Response) {
	if c != nil && !c.done {
		c.done = true
		c.w.mu.Lock()
		if status >= 200 && status < 300 {
			c.w.remember(c.key, status, resp)
		} else {
			c.w.forget(c.key)
		}
		c.w.mu.Unlock()
	}
	_ = WriteResponse(rw, status, resp)
}

// Release forgets the key unless the request was answered through the
// Claim: a server defers it, so that a request that fails in any way
// leaves no key in flight.
func (c *Claim) Release() {
	if c == nil || c.done {
		return
	}
	c.done = true
	c.w.mu.Lock()
	c.w.forget(c.key)
	c.w.mu.Unlock()
}
