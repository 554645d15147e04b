package fleetprocessor

import (
	"context"
	"fmt"

	"github.com/telemetrybridge/telemetry/payload"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// updateKey names one applied update: its Idempotency-Key within its
// instance, as the receiver's window scopes it, so that two clients that
// happen to pick the same key do not hide each other's updates.
type updateKey struct {
	instance uint64
	key      string
}

// keySet remembers the keys of the updates applied, within a bound of
// count and age (payload.Window's bounds, whose defaults it takes): the
// oldest key goes first. It is not safe for concurrent use: the
// processor locks around it. Unlike the receiver's window it keeps no
// answer and no key in flight: the receiver answers a key being processed
// with 409, and the processor only has to tell applied from not.
type keySet struct {
	maxKeys int
	maxAge  int64
	at      map[updateKey]int64 // when each key was applied, unix nanoseconds
	order   []updateKey         // a ring, oldest at head
	head    int
	count   int
	deleted int // keys forgotten since the map was last rebuilt
}

func newKeySet(cfg IdempotencyConfig) *keySet {
	return &keySet{maxKeys: cfg.MaxKeys, maxAge: int64(cfg.MaxAge), at: map[updateKey]int64{}}
}

// on reports whether keys are remembered at all (max_keys 0 turns it off).
func (s *keySet) on() bool { return s.maxKeys > 0 }

// applied reports whether k was applied within the age bound at now.
func (s *keySet) applied(k updateKey, now int64) bool {
	s.expire(now)
	_, ok := s.at[k]
	return ok
}

// add remembers k as applied at now, forgetting the oldest key when full.
func (s *keySet) add(k updateKey, now int64) {
	if !s.on() {
		return
	}
	if _, ok := s.at[k]; ok {
		return
	}
	if s.count == s.maxKeys {
		s.popOldest()
	}
	if s.count == len(s.order) {
		s.grow()
	}
	s.order[(s.head+s.count)%len(s.order)] = k
	s.count++
	s.at[k] = now
}

// expire forgets the keys older than the age bound.
func (s *keySet) expire(now int64) {
	for s.count > 0 && s.at[s.order[s.head]] < now-s.maxAge {
		s.popOldest()
	}
}

func (s *keySet) popOldest() {
	delete(s.at, s.order[s.head])
	s.order[s.head] = updateKey{}
	s.head = (s.head + 1) % len(s.order)
	s.count--
	// A Go map never shrinks, and one that keys flow through grows past
	// its size: rebuild it once as many were deleted as it may hold.
	if s.deleted++; s.deleted >= s.maxKeys {
		fresh := make(map[updateKey]int64, len(s.at))
		for k, at := range s.at {
			fresh[k] = at
		}
		s.at, s.deleted = fresh, 0
	}
}

// grow doubles the full ring up to maxKeys, oldest first: it starts
// small, so that an idle replica holds little.
func (s *keySet) grow() {
	grown := make([]updateKey, min(2*len(s.order)+64, s.maxKeys))
	n := copy(grown, s.order[s.head:])
	copy(grown[n:], s.order[:s.head])
	s.order, s.head = grown, 0
}

// each calls f with every key, oldest first.
func (s *keySet) each(f func(k updateKey, at int64)) {
	for i := range s.count {
		k := s.order[(s.head+i)%len(s.order)]
		f(k, s.at[k])
	}
}

// updateKey reads the update's Idempotency-Key, which the telemetry
// receiver puts in the client metadata, scoped to the update's instance
// (keyScope). No key, or keys turned off, gives the zero updateKey: the
// update is applied as it comes. A key over the receiver's own limit is
// refused for good, as the receiver would have, so that the set's memory
// stays bounded.
func (p *fleetProcessor) updateKey(ctx context.Context, hashes []uint64) (updateKey, error) {
	if !p.keys.on() {
		return updateKey{}, nil
	}
	values := client.FromContext(ctx).Metadata.Get(payload.HeaderIdempotencyKey)
	if len(values) == 0 || values[0] == "" {
		return updateKey{}, nil
	}
	if len(values[0]) > payload.MaxIdempotencyKeyBytes {
		return updateKey{}, consumererror.NewPermanent(fmt.Errorf("the %s is %d bytes, over the limit of %d",
			payload.HeaderIdempotencyKey, len(values[0]), payload.MaxIdempotencyKeyBytes))
	}
	return updateKey{instance: keyScope(hashes), key: values[0]}, nil
}

// keyScope is what an update's key is scoped to: its instance's hash. An
// update of several instances (another receiver's batch, its headers in
// the metadata) is scoped to all of them, in order, and resources without
// an instance (hash 0) are passed over: the same key on an update of
// other instances is then not taken for it. One instance's scope is its
// hash, as the snapshots of earlier versions hold it.
func keyScope(hashes []uint64) uint64 {
	const fnvPrime = 1099511628211 // FNV-1a's 64-bit prime, to mix one hash into the next
	var scope uint64
	for _, h := range hashes {
		switch {
		case h == 0:
		case scope == 0:
			scope = h
		default:
			scope = (scope ^ h) * fnvPrime
		}
	}
	return scope
}
