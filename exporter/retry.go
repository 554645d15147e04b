package exporter

import (
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// RetryConfig says how an update whose attempt failed for a reason that
// may pass (a network error, 408, 409, 429, 5xx, an unreadable 2xx answer)
// is tried again within one send: after an exponentially growing wait with
// full jitter, for at most MaxElapsedTime. It follows otlpmetrichttp's
// RetryConfig. An update still not delivered then is sent again with the
// next update (see the package documentation).
type RetryConfig struct {
	// Enabled turns retries on; without them each send makes one attempt.
	Enabled bool
	// InitialInterval is the ceiling of the first wait; each later ceiling
	// doubles, up to MaxInterval. The wait itself is drawn uniformly
	// between zero and the ceiling ("full jitter"), so that a fleet that
	// failed together does not retry together. 0 or less means
	// DefaultRetry's, so that a config that only turns retries on does not
	// hammer a failing server with attempts a millisecond apart.
	InitialInterval time.Duration
	// MaxInterval caps the ceiling of a wait; 0 or less means
	// DefaultRetry's. Ceilings (and the waits of Backoff) are never more
	// than maxRetryWait.
	MaxInterval time.Duration
	// MaxElapsedTime bounds the time one send spends on attempts and
	// waits; a wait that would end past it is not begun. 0 means no bound
	// but MaxAttempts.
	MaxElapsedTime time.Duration
	// MaxAttempts, when above 0, also bounds the attempts of one send, the
	// first included.
	MaxAttempts int
	// Backoff, when set, replaces the jittered exponential wait with
	// Backoff(n) after failed attempt n, and turns retries on.
	//
	// Deprecated: set InitialInterval, MaxInterval and MaxElapsedTime. It
	// is kept while callers outside this package move to them.
	Backoff func(attempt int) time.Duration
}

// DefaultRetry is what an exporter uses without WithRetry: waits whose
// ceiling starts at 5 s and doubles up to 2 min, for at most 10 min per
// send. A server that is back within that time hears from a fleet spread
// over the last ceiling, not all at once.
func DefaultRetry() RetryConfig {
	return RetryConfig{
		Enabled:         true,
		InitialInterval: 5 * time.Second,
		MaxInterval:     2 * time.Minute,
		MaxElapsedTime:  10 * time.Minute,
	}
}

// retrying reports whether a send makes more than one attempt.
func (rc RetryConfig) retrying() bool { return rc.Enabled || rc.Backoff != nil }

// retryBackOff draws the waits of one send. backoff.ExponentialBackOff,
// without its own randomisation, gives the ceiling (doubling, capped);
// the wait is drawn below it here, since the library's jitter only spreads
// a wait around its ceiling (±factor), not from zero.
type retryBackOff struct {
	exp    backoff.ExponentialBackOff
	jitter bool
	legacy func(int) time.Duration
	n      int
}

// maxRetryWait bounds one wait between attempts, as maxNextUpdate bounds
// the server's: a ceiling near math.MaxInt64 would overflow the draw
// below it and the sum with the time already spent.
const maxRetryWait = maxNextUpdate

// newRetryBackOff returns the back-off of one send; jitter is off only
// for the simulation that shows what it is for.
func newRetryBackOff(rc RetryConfig, jitter bool) *retryBackOff {
	def := DefaultRetry()
	initial := min(orDefault(rc.InitialInterval, def.InitialInterval), maxRetryWait)
	ceiling := min(orDefault(rc.MaxInterval, def.MaxInterval), maxRetryWait)
	b := &retryBackOff{jitter: jitter, legacy: rc.Backoff}
	b.exp = backoff.ExponentialBackOff{
		InitialInterval: initial,
		Multiplier:      2,
		MaxInterval:     max(ceiling, initial),
	}
	b.exp.Reset()
	return b
}

// orDefault is d, or def when d is not above 0.
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// next returns the wait after the latest failed attempt, within
// [0, maxRetryWait].
func (b *retryBackOff) next() time.Duration {
	b.n++
	if b.legacy != nil {
		return min(max(b.legacy(b.n), 0), maxRetryWait)
	}
	ceiling := b.exp.NextBackOff()
	if !b.jitter {
		return ceiling
	}
	return rand.N(ceiling + 1)
}
