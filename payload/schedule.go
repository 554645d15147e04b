package payload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Defaults of ScheduleConfig.
const (
	// DefaultJitter spreads next_update over ±10 %: a fleet restarted at
	// once reports again over a fifth of the interval, not in one burst.
	DefaultJitter = 0.1
	// DefaultEarlyShare: an update that comes before half the interval it
	// was told is early. Jitter and clock drift move an update by far
	// less; a client that ignores next_update, or follows another
	// server's, by far more.
	DefaultEarlyShare = 0.5
	// DefaultEarlyAllowance is how many early updates in a row an instance
	// may send before it gets 429. Two, because a restart is two early
	// updates on purpose: the stopping process's final update, which must
	// not be refused (the client does not wait out a 429 then, and the
	// figures would be lost without a spool), and the next process's
	// first, which goes out at once.
	DefaultEarlyAllowance = 2
	// DefaultScheduleInstances bounds the instances a Schedule remembers,
	// at about 65 bytes each (TestScheduleMemoryIsBounded prints the figure).
	DefaultScheduleInstances = 100_000
)

// ScheduleConfig says how a server spreads and enforces its schedule.
type ScheduleConfig struct {
	// Jitter spreads next_update uniformly over ±Jitter of it (0: exact).
	Jitter float64
	// EarlyShare is the share of the told interval before which an update
	// is early (0: no update is early, nothing is refused).
	EarlyShare float64
	// EarlyAllowance is how many early updates in a row are taken before
	// 429.
	EarlyAllowance int
	// MaxInstances bounds the instances remembered (0:
	// DefaultScheduleInstances). An instance forgotten is taken at once.
	MaxInstances int
	// Clock tells the time (nil: time.Now); tests set it.
	Clock func() time.Time
}

// DefaultSchedule returns the defaults above.
func DefaultSchedule() ScheduleConfig {
	return ScheduleConfig{Jitter: DefaultJitter, EarlyShare: DefaultEarlyShare, EarlyAllowance: DefaultEarlyAllowance}
}

// Schedule is how a server keeps a fleet to its schedule: it spreads the
// next_update it answers with, and it tells an instance that reports
// much earlier than it was told to wait (429 with Retry-After), once the
// instance has used its allowance of early updates. It remembers, per
// instance, when its last accepted update came and what it was told,
// within MaxInstances; in memory only. It is safe for concurrent use.
type Schedule struct {
	cfg   ScheduleConfig
	epoch time.Time // times are kept as nanoseconds since epoch

	mu   sync.Mutex
	seen map[uuid.UUID]told
}

// told is what a Schedule remembers of one instance.
type told struct {
	at    int64 // its last accepted update, in nanoseconds since epoch
	next  int64 // the interval it was told then
	early int32 // early updates accepted in a row
}

// NewSchedule returns a Schedule.
func NewSchedule(cfg ScheduleConfig) *Schedule {
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = DefaultScheduleInstances
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	cfg.Jitter = sane(cfg.Jitter)
	cfg.EarlyShare = sane(cfg.EarlyShare)
	return &Schedule{cfg: cfg, epoch: cfg.Clock(), seen: make(map[uuid.UUID]told)}
}

// sane keeps a share within 0 .. 1; NaN, which comparisons let through
// (and which would spread every next_update to a second), becomes 0.
func sane(share float64) float64 {
	if !(share > 0) {
		return 0
	}
	return min(share, 1)
}

// now is the time in nanoseconds since s.epoch. With time.Now both carry
// the monotonic clock, so a step of the wall clock (NTP, a suspended VM)
// moves nothing.
func (s *Schedule) now() int64 { return int64(s.cfg.Clock().Sub(s.epoch)) }

// Spread returns next with the jitter applied. A next_update under a
// second is left alone (clients then take their default interval), and a
// spread one stays at a second or more.
func (s *Schedule) Spread(next time.Duration) time.Duration {
	if s == nil || next < time.Second || s.cfg.Jitter == 0 {
		return next
	}
	spread := float64(next) * (1 + s.cfg.Jitter*(2*rand.Float64()-1))
	if spread >= math.MaxInt64 { // a Duration would wrap around
		return math.MaxInt64
	}
	return max(time.Duration(spread), time.Second)
}

// TooEarly reports how long instance must wait before its update is
// taken, or 0 when it is taken now. An instance is refused only when this
// update is early and so were the EarlyAllowance updates accepted before.
func (s *Schedule) TooEarly(instance uuid.UUID) time.Duration {
	if s == nil || s.cfg.EarlyShare <= 0 {
		return 0
	}
	now := s.now()
	s.mu.Lock()
	t, ok := s.seen[instance]
	s.mu.Unlock()
	if !ok || int(t.early) < s.cfg.EarlyAllowance || !s.isEarly(t, now) {
		return 0
	}
	return time.Duration(t.at + s.earlyBound(t.next) - now)
}

// Accepted records that instance's update was accepted and told to come
// back after next.
func (s *Schedule) Accepted(instance uuid.UUID, next time.Duration) {
	if s == nil || s.cfg.EarlyShare <= 0 {
		return
	}
	if next < time.Second {
		next = time.Hour // what a client does with it
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.seen[instance]
	early := int32(0)
	if ok && s.isEarly(t, now) {
		early = t.early + 1
	}
	if !ok && len(s.seen) >= s.cfg.MaxInstances {
		s.makeRoom(now)
	}
	s.seen[instance] = told{at: now, next: int64(next), early: early}
}

// isEarly reports whether an update at now comes before the early bound
// of t. One that seems to come before t itself (a test's clock set back)
// is not: the wait would be the jump, however long.
func (s *Schedule) isEarly(t told, now int64) bool {
	elapsed := now - t.at
	return elapsed >= 0 && elapsed < s.earlyBound(t.next)
}

// earlyBound is how long after an update told next the following one is
// no longer early.
func (s *Schedule) earlyBound(next int64) int64 {
	return int64(float64(next) * s.cfg.EarlyShare)
}

// makeRoom keeps the instances whose next update can still be early, up
// to seven eighths of the bound (the others at random: map order), in a
// new map: a sweep costs one pass per eighth of the bound inserted, and
// a map, which never shrinks, is rebuilt at its size. s.mu is held.
func (s *Schedule) makeRoom(now int64) {
	keep := s.cfg.MaxInstances - s.cfg.MaxInstances/8 - 1
	kept := make(map[uuid.UUID]told, s.cfg.MaxInstances)
	for id, t := range s.seen {
		if len(kept) >= keep {
			break
		}
		if s.isEarly(t, now) {
			kept[id] = t
		}
	}
	s.seen = kept
}

// Len returns the number of instances remembered.
func (s *Schedule) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// WriteTooEarly answers an update that Schedule.TooEarly refused: 429,
// with the wait in whole seconds (rounded up) as Retry-After and as
// next_update, which clients read first.
func WriteTooEarly(w http.ResponseWriter, wait time.Duration) {
	seconds := int64((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(seconds, 10))
	_ = WriteResponse(w, http.StatusTooManyRequests, Response{
		NextUpdate: time.Duration(seconds) * time.Second,
		Error:      fmt.Sprintf("this instance reports much earlier than it was told: send this update again in %d s", seconds),
	})
}
